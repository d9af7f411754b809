<?php

declare(strict_types=1);

namespace Herald\Tests;

use Herald\Exception\WebhookVerificationException as Failure;
use Herald\Model\OptOutData;
use Herald\Model\SmsMessage;
use Herald\Webhook;
use PHPUnit\Framework\TestCase;

final class WebhookTest extends TestCase
{
    private const SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
    private const ROTATED = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

    /** @return array<string, mixed> */
    private static function vectors(): array
    {
        return json_decode(file_get_contents(__DIR__ . '/../../../vectors/signatures.json'), true, 512, JSON_THROW_ON_ERROR);
    }

    /** @return iterable<string, array{array<string, mixed>}> */
    public static function standardWebhooksVectors(): iterable
    {
        foreach (self::vectors()['standardWebhooks'] as $vector) {
            yield $vector['name'] => [$vector];
        }
    }

    /** @return iterable<string, array{array<string, mixed>}> */
    public static function metaVectors(): iterable
    {
        foreach (self::vectors()['whatsappHubSignature256'] as $vector) {
            yield $vector['name'] => [$vector];
        }
    }

    /** @dataProvider standardWebhooksVectors */
    public function testStandardWebhooksVector(array $v): void
    {
        $headers = ['webhook-id' => $v['id'], 'webhook-timestamp' => (string) $v['timestamp'], 'webhook-signature' => $v['signature']];
        // The clock set to the vector's time, with the default tolerance; then the tolerance off.
        foreach ([[Webhook::DEFAULT_TOLERANCE, $v['timestamp']], [null, null]] as [$tolerance, $now]) {
            try {
                Webhook::verifySignature($v['payload'], $headers, [$v['secret']], $tolerance, $now);
                $this->assertTrue($v['valid'], 'an invalid vector verified');
            } catch (Failure $e) {
                $this->assertFalse($v['valid'], 'a valid vector was refused: ' . $e->getMessage());
                $this->assertSame(Failure::SIGNATURE, $e->getCode());
            }
        }
        if (!$v['valid']) {
            return;
        }
        $payload = json_decode($v['payload'], true);
        try {
            $event = Webhook::verify($v['payload'], $headers, [$v['secret']], Webhook::DEFAULT_TOLERANCE, $v['timestamp']);
            $this->assertSame([$payload['id'], $payload['type']], [$event->id, $event->type]);
        } catch (Failure $e) {
            $this->assertArrayNotHasKey('type', $payload, 'a valid event was refused: ' . $e->getMessage());
            $this->assertSame(Failure::PAYLOAD, $e->getCode());
        }
    }

    /** @dataProvider metaVectors */
    public function testMetaSignatureVector(array $v): void
    {
        $this->assertSame($v['valid'], Webhook::verifyMetaSignature($v['body'], $v['header'], $v['appSecret']));
    }

    public function testMetaSignatureMalformed(): void
    {
        $v = self::vectors()['whatsappHubSignature256'][0];
        foreach (['', 'sha1=abc', 'sha256=zz', substr($v['header'], 7)] as $header) {
            $this->assertFalse(Webhook::verifyMetaSignature($v['body'], $header, $v['appSecret']), $header);
        }
        $this->assertFalse(Webhook::verifyMetaSignature($v['body'], $v['header'], ''));
    }

    private static function sign(string $secret, string $id, string $timestamp, string $body): string
    {
        return 'v1,' . base64_encode(hash_hmac('sha256', "$id.$timestamp.$body", base64_decode(substr($secret, 6)), true));
    }

    public function testFreshRequests(): void
    {
        $body = '{"id":"evt_1","type":"sms_opt_out","createdAt":"2026-11-27T10:00:00Z","organizationId":"org_1",'
            . '"data":{"phoneNumber":"+2348067000111","action":"added","source":"inbound","occurredAt":"2026-11-27T10:00:00Z"}}';
        $now = (string) time();

        $event = Webhook::verify($body, ['Webhook-Id' => 'evt_1', 'Webhook-Timestamp' => $now, 'Webhook-Signature' => self::sign(self::SECRET, 'evt_1', $now, $body)], self::SECRET);
        $this->assertSame(['evt_1', 'sms_opt_out', 'org_1'], [$event->id, $event->type, $event->organizationId]);
        $this->assertInstanceOf(OptOutData::class, $event->optOut());
        $this->assertSame(['+2348067000111', 'added', 'inbound'], [$event->optOut()->phoneNumber, $event->optOut()->action, $event->optOut()->source]);

        // $_SERVER's form, two signatures, and a list of secrets.
        $server = ['HTTP_WEBHOOK_ID' => 'evt_1', 'HTTP_WEBHOOK_TIMESTAMP' => $now,
            'HTTP_WEBHOOK_SIGNATURE' => self::sign(self::ROTATED, 'evt_1', $now, $body) . ' ' . self::sign(self::SECRET, 'evt_1', $now, $body)];
        $this->assertSame('evt_1', Webhook::verify($body, $server, [self::SECRET])->id);
        $this->assertSame('evt_1', Webhook::verify($body, ['webhook-id' => ['evt_1'], 'webhook-timestamp' => [$now],
            'webhook-signature' => [self::sign(self::SECRET, 'evt_1', $now, $body)]], [self::ROTATED, self::SECRET])->id);

        $stale = (string) (time() - 360);
        $future = (string) (time() + 360);
        $cases = [
            'stale' => [['webhook-id' => 'evt_1', 'webhook-timestamp' => $stale, 'webhook-signature' => self::sign(self::SECRET, 'evt_1', $stale, $body)], [self::SECRET], Failure::TIMESTAMP],
            'future' => [['webhook-id' => 'evt_1', 'webhook-timestamp' => $future, 'webhook-signature' => self::sign(self::SECRET, 'evt_1', $future, $body)], [self::SECRET], Failure::TIMESTAMP],
            'malformed timestamp' => [['webhook-id' => 'evt_1', 'webhook-timestamp' => '12e4', 'webhook-signature' => 'v1,x'], [self::SECRET], Failure::TIMESTAMP],
            'another id' => [['webhook-id' => 'evt_2', 'webhook-timestamp' => $now, 'webhook-signature' => self::sign(self::SECRET, 'evt_1', $now, $body)], [self::SECRET], Failure::SIGNATURE],
            'wrong secret' => [['webhook-id' => 'evt_1', 'webhook-timestamp' => $now, 'webhook-signature' => self::sign(self::SECRET, 'evt_1', $now, $body)], [self::ROTATED], Failure::SIGNATURE],
            'no signature' => [['webhook-id' => 'evt_1', 'webhook-timestamp' => $now], [self::SECRET], Failure::MISSING_HEADERS],
            'no secret' => [['webhook-id' => 'evt_1', 'webhook-timestamp' => $now, 'webhook-signature' => 'v1,x'], [], Failure::INVALID_SECRET],
            'empty secret' => [['webhook-id' => 'evt_1', 'webhook-timestamp' => $now, 'webhook-signature' => 'v1,x'], [''], Failure::INVALID_SECRET],
            'secret without whsec_' => [['webhook-id' => 'evt_1', 'webhook-timestamp' => $now, 'webhook-signature' => 'v1,x'], [substr(self::SECRET, 6)], Failure::INVALID_SECRET],
            'secret not base64' => [['webhook-id' => 'evt_1', 'webhook-timestamp' => $now, 'webhook-signature' => 'v1,x'], ['whsec_***'], Failure::INVALID_SECRET],
        ];
        foreach ($cases as $name => [$headers, $secrets, $code]) {
            try {
                Webhook::verify($body, $headers, $secrets);
                $this->fail("$name verified");
            } catch (Failure $e) {
                $this->assertSame($code, $e->getCode(), $name);
            }
        }
    }

    public function testMessageEventsCarryTypedMessages(): void
    {
        $sms = ['id' => 'msg_1', 'channel' => 'sms', 'status' => 'DELIVERED', 'to' => '+2348067000111', 'externalId' => 'login-7731',
            'providerMessageId' => 'SM1', 'error' => null, 'createdAt' => '2026-11-27T09:59:58.412Z', 'updatedAt' => '2026-11-27T09:59:59.873214Z',
            'scheduledAt' => null, 'senderId' => 'Acme', 'flow' => 'OTP', 'body' => 'Your code', 'segments' => 1, 'encoding' => 'GSM7'];
        $body = json_encode(['id' => 'evt_3', 'type' => 'sms_delivered', 'createdAt' => '2026-11-27T10:00:00Z', 'organizationId' => 'org_1', 'data' => $sms]);
        $now = (string) time();

        $event = Webhook::verify($body, ['webhook-id' => 'evt_3', 'webhook-timestamp' => $now, 'webhook-signature' => self::sign(self::SECRET, 'evt_3', $now, $body)], self::SECRET);

        $this->assertInstanceOf(SmsMessage::class, $event->sms());
        $this->assertSame(['msg_1', 'DELIVERED', 'login-7731'], [$event->sms()->id, $event->sms()->status, $event->sms()->externalId]);
        $this->expectException(\LogicException::class);
        $event->optOut();
    }
}
