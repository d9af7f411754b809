<?php

require __DIR__ . '/../autoload.php'; // with Composer: require 'vendor/autoload.php';

use Herald\Exception\WebhookVerificationException;
use Herald\Webhook;

// The endpoint's secret; while rotating, list both the new and the previous one.
$secrets = [getenv('HERALD_WEBHOOK_SECRET') ?: ''];

try {
    $event = Webhook::verify(file_get_contents('php://input'), $_SERVER, $secrets);
} catch (WebhookVerificationException $e) {
    // 500 for our own misconfiguration, 400 for a request that does not verify; never 410,
    // which disables the endpoint.
    http_response_code($e->getCode() === WebhookVerificationException::INVALID_SECRET ? 500 : 400);
    error_log('refused a webhook: ' . $e->getMessage());
    exit;
}

// Events arrive at least once: claim the id atomically before acting, and act only on the first
// claim (in your database: a unique key, in the transaction that does the work; a file here).
$claims = sys_get_temp_dir() . '/herald-webhooks';
if (!is_dir($claims)) {
    @mkdir($claims, 0700); // a concurrent request may have made it: fopen() below tells
}
if (@fopen($claims . '/' . hash('sha256', $event->id), 'x') === false) {
    http_response_code(204); // a re-delivery: acknowledged, not acted on again
    exit;
}

if ($event->type === 'sms_delivered' || $event->type === 'sms_failed') {
    $sms = $event->sms();
    error_log("handled {$event->type} {$sms->id} {$sms->status}");
} else {
    error_log("ignored {$event->type}"); // a type this code does not act on
}
http_response_code(204);
