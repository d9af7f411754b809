<?php

declare(strict_types=1);

namespace Herald;

use Herald\Exception\WebhookVerificationException as Failure;
use Herald\Model\Event;

/** Verifies the webhooks Herald sends (Standard Webhooks) and Meta's X-Hub-Signature-256. */
final class Webhook
{
    /** How far a webhook-timestamp may be from the clock, either way, in seconds. */
    public const DEFAULT_TOLERANCE = 300;

    /**
     * Checks a Standard Webhooks request from Herald and returns its event.
     *
     * $payload is the raw body as received (php://input). $headers are the request's headers, in
     * any case, as name => value or name => list of values, or $_SERVER itself (HTTP_WEBHOOK_ID, …).
     * $secrets are the endpoint's whsec_ secrets (give two while rotating: either verifies).
     * $tolerance bounds the distance between webhook-timestamp and the clock, in seconds; null turns
     * the check off (to replay stored requests only). $now is the clock, for tests. Signatures are
     * compared in constant time. Deliveries come at least once: deduplicate on the event's id.
     *
     * @param array<string, string|list<string>> $headers
     * @param string|list<string> $secrets
     * @throws Failure when the request does not verify, or its body is not an event
     */
    public static function verify(string $payload, array $headers, string|array $secrets, ?int $tolerance = self::DEFAULT_TOLERANCE, ?int $now = null): Event
    {
        self::verifySignature($payload, $headers, $secrets, $tolerance, $now);
        $event = json_decode($payload, true);
        foreach (['id', 'type', 'createdAt', 'organizationId'] as $field) {
            if (!is_string($event[$field] ?? null)) {
                throw new Failure("the webhook body is not an event: no $field", Failure::PAYLOAD);
            }
        }
        if (!is_array($event['data'] ?? null)) {
            throw new Failure('the webhook body is not an event: no data', Failure::PAYLOAD);
        }
        try {
            return Event::fromArray($event);
        } catch (\Exception $e) {
            throw new Failure('the webhook body is not an event: ' . $e->getMessage(), Failure::PAYLOAD, $e);
        }
    }

    /**
     * The signature check of verify(), for a body that is not parsed as an event.
     *
     * @param array<string, string|list<string>> $headers
     * @param string|list<string> $secrets
     * @throws Failure when the request does not verify
     */
    public static function verifySignature(string $payload, array $headers, string|array $secrets, ?int $tolerance = self::DEFAULT_TOLERANCE, ?int $now = null): void
    {
        $keys = array_map(self::signingKey(...), (array) $secrets);
        if ($keys === []) {
            throw new Failure('no webhook secret given', Failure::INVALID_SECRET);
        }
        $headers = self::normalize($headers);
        $id = $headers['webhook-id'] ?? '';
        $timestamp = $headers['webhook-timestamp'] ?? '';
        $signatures = $headers['webhook-signature'] ?? '';
        if ($id === '' || $timestamp === '' || $signatures === '') {
            throw new Failure('webhook-id, webhook-timestamp or webhook-signature is missing', Failure::MISSING_HEADERS);
        }
        if (!preg_match('/^[0-9]{1,15}\z/', $timestamp)) {
            throw new Failure('webhook-timestamp is malformed', Failure::TIMESTAMP);
        }
        if ($tolerance !== null && abs(($now ?? time()) - (int) $timestamp) > $tolerance) {
            throw new Failure('webhook-timestamp is outside the tolerance', Failure::TIMESTAMP);
        }
        $matched = false;
        foreach ($keys as $key) {
            $expected = 'v1,' . base64_encode(hash_hmac('sha256', "$id.$timestamp.$payload", $key, true));
            foreach (preg_split('/ +/', trim($signatures)) as $candidate) {
                $matched = hash_equals($expected, $candidate) || $matched;
            }
        }
        if (!$matched) {
            throw new Failure('no webhook signature matches', Failure::SIGNATURE);
        }
    }

    /**
     * Checks Meta's X-Hub-Signature-256 header ("sha256=<hex>") over the raw body of a WhatsApp
     * Cloud API webhook, keyed with the app secret, in constant time.
     */
    public static function verifyMetaSignature(string $payload, string $signatureHeader, string $appSecret): bool
    {
        if ($appSecret === '' || !str_starts_with($signatureHeader, 'sha256=')) {
            return false;
        }
        $expected = 'sha256=' . hash_hmac('sha256', $payload, $appSecret);
        return hash_equals($expected, strtolower($signatureHeader));
    }

    private static function signingKey(string $secret): string
    {
        $key = str_starts_with($secret, 'whsec_') ? base64_decode(substr($secret, 6), true) : false;
        if ($key === false || $key === '') {
            throw new Failure('a webhook secret is not whsec_ and base64', Failure::INVALID_SECRET);
        }
        return $key;
    }

    /**
     * @param array<string, string|list<string>> $headers
     * @return array<string, string> lower-case names, HTTP_ prefixes of $_SERVER removed
     */
    private static function normalize(array $headers): array
    {
        $out = [];
        foreach ($headers as $name => $value) {
            $name = strtolower((string) $name);
            if (str_starts_with($name, 'http_')) {
                $name = str_replace('_', '-', substr($name, 5));
            }
            if (is_array($value)) {
                $value = implode(' ', $value);
            }
            $out[$name] = is_string($value) ? $value : '';
        }
        return $out;
    }
}
