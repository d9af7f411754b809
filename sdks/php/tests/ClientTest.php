<?php

declare(strict_types=1);

namespace Herald\Tests;

use Herald\Client;
use Herald\Exception\AuthenticationException;
use Herald\Exception\BadRequestException;
use Herald\Exception\ConflictException;
use Herald\Exception\ConnectionException;
use Herald\Exception\HeraldException;
use Herald\Exception\NotFoundException;
use Herald\Exception\PermissionException;
use Herald\Exception\RateLimitException;
use Herald\Exception\ServerException;
use Herald\Exception\ValidationException;
use Herald\Model\FieldError;
use Herald\Model\SmsMessage;
use Herald\Tests\Support\StandInServer;
use PHPUnit\Framework\TestCase;

/** Retries, idempotency, errors and paging against a real local server (php -S). */
final class ClientTest extends TestCase
{
    private const SMS = [
        'id' => '0193a3b2-7c1e-7d40-9f1a-2b3c4d5e6f70', 'channel' => 'sms', 'status' => 'QUEUED', 'to' => '+2348067000111',
        'externalId' => null, 'providerMessageId' => null, 'error' => null, 'createdAt' => '2026-11-27T10:00:00Z',
        'updatedAt' => '2026-11-27T10:00:00.123456Z', 'scheduledAt' => null, 'senderId' => 'Acme', 'flow' => 'OTP',
        'body' => 'Your code is 123456', 'segments' => 1, 'encoding' => 'GSM7',
    ];
    private const OTP = ['to' => '+2348067000111', 'body' => 'Your code is 123456', 'senderId' => 'Acme', 'flow' => 'OTP'];

    private ?StandInServer $server = null;

    protected function tearDown(): void
    {
        $this->server?->stop();
    }

    /** @param list<array<string, mixed>> $responses */
    private function client(array $responses, array $options = []): Client
    {
        $this->server = StandInServer::answering($responses);
        return new Client('hk_test_key', $options + ['baseUrl' => $this->server->url . '/', 'retryBaseDelay' => 0.001]);
    }

    public function testSendIsRetriedWithOneIdempotencyKey(): void
    {
        $unavailable = ['status' => 503, 'body' => ['error' => ['code' => 'SERVICE_UNAVAILABLE', 'message' => 'try again']]];
        $client = $this->client([$unavailable, $unavailable, ['status' => 202, 'body' => self::SMS]]);

        $sms = $client->sms->send(self::OTP);

        $this->assertInstanceOf(SmsMessage::class, $sms);
        $this->assertSame(['QUEUED', 1, 'OTP', null, null], [$sms->status, $sms->segments, $sms->flow, $sms->externalId, $sms->error]);
        $this->assertSame('2026-11-27T10:00:00.123456+00:00', $sms->updatedAt->format('Y-m-d\TH:i:s.uP'));
        $requests = $this->server->requests();
        $this->assertCount(3, $requests);
        $key = $requests[0]['headers']['idempotency-key'];
        $this->assertMatchesRegularExpression('/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/', $key);
        foreach ($requests as $request) {
            $this->assertSame(['POST', '/v1/public/sms/send'], [$request['method'], $request['path']]);
            $this->assertSame($key, $request['headers']['idempotency-key']);
            $this->assertSame('Bearer hk_test_key', $request['headers']['authorization']);
            $this->assertSame('herald-php/' . Client::VERSION, $request['headers']['user-agent']);
            $this->assertSame('application/json', $request['headers']['content-type']);
            $this->assertSame(self::OTP, json_decode($request['body'], true));
        }

        $client->sms->send(self::OTP);
        $this->assertNotSame($key, $this->server->requests()[3]['headers']['idempotency-key']);
    }

    public function testCallerKeyIsReusedAfterATimeout(): void
    {
        $client = $this->client(
            [['status' => 202, 'body' => ['data' => [self::SMS]], 'delayMs' => 1500], ['status' => 202, 'body' => ['data' => [self::SMS]]]],
            ['timeout' => 0.3],
        );

        $batch = $client->sms->batch([self::OTP], 'order-1043');

        $this->assertCount(1, $batch);
        $this->assertSame('Acme', $batch[0]->senderId);
        $requests = $this->server->requests();
        $this->assertCount(2, $requests, 'a time-out, then the retry');
        foreach ($requests as $request) {
            $this->assertSame('/v1/public/sms/batch', $request['path']);
            $this->assertSame('order-1043', $request['headers']['idempotency-key']);
            $this->assertSame(['messages' => [self::OTP]], json_decode($request['body'], true));
        }
    }

    public function testRetryAfterIsHonoured(): void
    {
        $client = $this->client([
            ['status' => 429, 'headers' => ['Retry-After' => '1'], 'body' => ['error' => ['code' => 'RATE_LIMITED', 'message' => 'slow down']]],
            ['status' => 200, 'body' => ['id' => 'k', 'name' => 'backend', 'prefix' => 'hk_7Qm2xT9a', 'scopes' => ['read:sms'], 'organizationId' => 'o']],
        ]);
        $start = microtime(true);

        $key = $client->key();

        $this->assertGreaterThanOrEqual(1.0, microtime(true) - $start, 'retried before Retry-After');
        $this->assertSame(['backend', ['read:sms']], [$key->name, $key->scopes]);
        $this->assertCount(2, $this->server->requests());
    }

    public function testRetriesAreBounded(): void
    {
        foreach ([0, 2] as $retries) {
            $client = $this->client([['status' => 500, 'body' => ['error' => ['code' => 'INTERNAL', 'message' => 'boom']]]], ['maxRetries' => $retries]);
            try {
                $client->emails->get('m1');
                $this->fail('no exception');
            } catch (ServerException $e) {
                $this->assertSame([500, 'INTERNAL', 'req-' . $retries], [$e->getStatusCode(), $e->getErrorCode(), $e->getRequestId()]);
            }
            $this->assertCount($retries + 1, $this->server->requests());
            $this->server->stop();
            $this->server = null;
        }

        $client = $this->client([['status' => 502, 'body' => '<html>bad gateway</html>']]);
        try {
            $client->whatsapp->timeline('m1');
            $this->fail('no exception');
        } catch (ServerException $e) {
            $this->assertSame([502, null], [$e->getStatusCode(), $e->getErrorCode()]);
        }
        $this->assertCount(4, $this->server->requests(), 'three retries by default');
    }

    public function testConnectionFailure(): void
    {
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        $address = stream_socket_get_name($probe, false);
        fclose($probe);
        $client = new Client('hk_test_key', ['baseUrl' => "http://$address", 'maxRetries' => 1, 'retryBaseDelay' => 0.001]);

        $this->expectException(ConnectionException::class);
        $client->key();
    }

    public function testErrorsAreTypedByStatus(): void
    {
        $cases = [
            400 => BadRequestException::class, 401 => AuthenticationException::class, 403 => PermissionException::class,
            404 => NotFoundException::class, 409 => ConflictException::class, 422 => ValidationException::class,
            429 => RateLimitException::class, 418 => HeraldException::class,
        ];
        $responses = [];
        foreach (array_keys($cases) as $status) {
            $responses[] = ['status' => $status, 'body' => ['error' => ['code' => "CODE_$status", 'message' => 'refused',
                'details' => [['field' => 'messages[1].to', 'message' => 'must be E.164', 'code' => 'VALIDATION_ERROR']]]]];
        }
        $client = $this->client($responses, ['maxRetries' => 0]);
        $n = 0;
        foreach ($cases as $status => $class) {
            try {
                $client->sms->batch([self::OTP, self::OTP]);
                $this->fail("no exception for $status");
            } catch (HeraldException $e) {
                $this->assertSame($class, $e::class);
                $this->assertSame([$status, "CODE_$status", "req-$n"], [$e->getStatusCode(), $e->getErrorCode(), $e->getRequestId()]);
                $this->assertEquals([new FieldError('messages[1].to', 'must be E.164', 'VALIDATION_ERROR')], $e->getDetails());
                $this->assertSame("$status CODE_$status: refused; messages[1].to must be E.164 (request req-$n)", $e->getMessage());
            }
            $n++;
        }
        $this->assertCount(count($cases), $this->server->requests(), 'errors were retried');
    }

    public function testListFiltersAndGenerator(): void
    {
        $ids = ['m5', 'm4', 'm3', 'm2', 'm1'];
        $pages = [];
        foreach (array_chunk($ids, 2) as $i => $chunk) {
            $data = array_map(static fn (string $id): array => ['id' => $id] + self::SMS, $chunk);
            $pages[] = ['status' => 200, 'body' => ['data' => $data, 'page' => $i + 1, 'pageSize' => 2, 'total' => 5]];
        }
        $client = $this->client($pages);
        $filters = [
            'flow' => 'OTP', 'status' => 'DELIVERED', 'query' => 'run 1', 'pageSize' => 2,
            'createdFrom' => new \DateTimeImmutable('2026-11-01T01:00:00+01:00'), 'createdTo' => '2026-11-30T23:59:59Z',
        ];

        $seen = [];
        foreach ($client->sms->listAll($filters) as $sms) {
            $this->assertInstanceOf(SmsMessage::class, $sms);
            $seen[] = $sms->id;
        }

        $this->assertSame($ids, $seen);
        $queries = array_column($this->server->requests(), 'query');
        $this->assertSame(
            'flow=OTP&status=DELIVERED&query=run%201&pageSize=2&createdFrom=2026-11-01T00%3A00%3A00.000000Z&createdTo=2026-11-30T23%3A59%3A59Z&page=1',
            $queries[0],
        );
        $this->assertCount(3, $queries);
        $this->assertStringEndsWith('&page=3', $queries[2]);
    }

    public function testUnknownFiltersAndFieldsAreRefusedBeforeSending(): void
    {
        $client = $this->client([['status' => 200, 'body' => []]]);
        try {
            $client->emails->list(['flow' => 'OTP']);
            $this->fail('a flow filter on emails was sent');
        } catch (\InvalidArgumentException $e) {
            $this->assertStringContainsString('flow', $e->getMessage());
        }
        try {
            $client->sms->send(self::OTP + ['sender' => 'Acme']);
            $this->fail('an unknown send field was sent');
        } catch (\InvalidArgumentException $e) {
            $this->assertStringContainsString('sender', $e->getMessage());
        }
        $this->assertSame([], $this->server->requests());
    }

    public function testStatsSenderIdsAndCancel(): void
    {
        $counts = ['queued' => 3, 'sent' => 2, 'delivered' => 2, 'bounced' => 0, 'complained' => 0, 'failed' => 1, 'opened' => 1, 'clicked' => 0];
        $client = $this->client([
            ['status' => 200, 'body' => ['from' => '2026-11-01', 'to' => '2026-11-02',
                'totals' => $counts + ['deliveryRate' => 1, 'bounceRate' => 0, 'openRate' => 0.5, 'clickRate' => 0],
                'daily' => [['date' => '2026-11-01'] + $counts]]],
            ['status' => 200, 'body' => ['data' => [['senderId' => 'Acme', 'approvedAt' => '2026-11-27T11:00:00Z']], 'page' => 1, 'pageSize' => 20, 'total' => 1]],
            ['status' => 409, 'body' => ['error' => ['code' => 'CONFLICT', 'message' => 'only a QUEUED message can be canceled']]],
        ]);

        $stats = $client->emails->stats(new \DateTimeImmutable('2026-11-01T12:00:00Z'), '2026-11-02');
        $this->assertSame([3, 1.0, 0.5, '2026-11-01', 1], [$stats->totals->queued, $stats->totals->deliveryRate, $stats->totals->openRate, $stats->daily[0]->date, $stats->daily[0]->failed]);
        $senders = $client->sms->senderIds();
        $this->assertSame(['Acme', '11'], [$senders->data[0]->senderId, $senders->data[0]->approvedAt->format('H')]);
        try {
            $client->whatsapp->cancel('a/b');
            $this->fail('no exception');
        } catch (ConflictException $e) {
            $this->assertSame('CONFLICT', $e->getErrorCode());
        }

        $requests = $this->server->requests();
        $this->assertSame(['from=2026-11-01&to=2026-11-02', ''], [$requests[0]['query'], $requests[1]['query']]);
        $this->assertSame(['POST', '/v1/public/whatsapp/a%2Fb/cancel'], [$requests[2]['method'], $requests[2]['path']]);
        $this->assertArrayNotHasKey('idempotency-key', $requests[2]['headers']);
    }
}
