<?php

require __DIR__ . '/../autoload.php'; // with Composer: require 'vendor/autoload.php';

use Herald\Client;
use Herald\Exception\ValidationException;

$herald = new Client(getenv('HERALD_API_KEY'), ['baseUrl' => getenv('HERALD_BASE_URL')]);

try {
    $sms = $herald->sms->send([
        'to' => '+2348067000111',
        'body' => 'Your Acme code is 482913',
        'senderId' => getenv('HERALD_SMS_SENDER_ID'),
        'flow' => 'OTP',
        'externalId' => 'login-7731',
    ]);
    echo "sms {$sms->id} {$sms->status}\n";

    $email = $herald->emails->send([
        'from' => 'Acme <billing@acme.test>',
        'to' => ['zoe@example.com'],
        'subject' => 'Your receipt',
        'html' => '<p>Thanks for your order.</p>',
        'tags' => ['kind' => 'receipt'],
    ]);
    echo "email {$email->id} {$email->status}\n";
} catch (ValidationException $e) {
    fprintf(STDERR, "refused: %s %s (request %s)\n", $e->getErrorCode(), json_encode($e->getDetails()), $e->getRequestId());
    exit(1);
}
