<?php

declare(strict_types=1);

namespace Herald\Tests;

use Herald\Tests\Support\StandInServer;
use PHPUnit\Framework\TestCase;

/** The README shows the files of examples/ verbatim; this runs them. */
final class ReadmeTest extends TestCase
{
    private const EXAMPLES = __DIR__ . '/../examples';

    public function testReadmeShowsTheExamplesVerbatim(): void
    {
        preg_match_all('/```php\n(.*?)\n```/s', file_get_contents(__DIR__ . '/../README.md'), $blocks);
        $examples = array_map(static fn (string $f): string => rtrim(file_get_contents($f), "\n"), glob(self::EXAMPLES . '/*.php'));
        sort($examples);
        $shown = $blocks[1];
        sort($shown);
        $this->assertCount(3, $examples);
        $this->assertSame($examples, $shown);
    }

    /** @return array{int, string, string} exit code, stdout, stderr */
    private static function runScript(string $script): array
    {
        $process = proc_open([PHP_BINARY, $script], [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        $out = stream_get_contents($pipes[1]);
        $err = stream_get_contents($pipes[2]);
        return [proc_close($process), $out, $err];
    }

    public function testSendAndListAgainstTheServer(): void
    {
        if (getenv('HERALD_BASE_URL') === false || getenv('HERALD_BASE_URL') === '') {
            $this->markTestSkipped('HERALD_BASE_URL is not set: the send and list examples need a live server');
        }
        [$code, $out, $err] = self::runScript(self::EXAMPLES . '/send.php');
        $this->assertSame(0, $code, $err);
        $this->assertMatchesRegularExpression('/^sms [0-9a-f-]{36} QUEUED\nemail [0-9a-f-]{36} QUEUED\n$/', $out);

        [$code, $out, $err] = self::runScript(self::EXAMPLES . '/list.php');
        $this->assertSame(0, $code, $err);
        $this->assertMatchesRegularExpression('/^OTP messages: [1-9]\d*\n(delivered [0-9a-f-]{36} .*\n)*$/', $out);
    }

    public function testWebhookReceiver(): void
    {
        $secret = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
        $server = new StandInServer(self::EXAMPLES . '/webhook.php', ['HERALD_WEBHOOK_SECRET' => $secret]);
        $unconfigured = new StandInServer(self::EXAMPLES . '/webhook.php', ['HERALD_WEBHOOK_SECRET' => '']);
        try {
            $delivered = '{"id":"evt_1","type":"sms_delivered","createdAt":"2026-11-27T10:00:00Z","organizationId":"org_1","data":'
                . '{"id":"msg_1","channel":"sms","status":"DELIVERED","to":"+2348067000111","externalId":null,"providerMessageId":"SM1",'
                . '"error":null,"createdAt":"2026-11-27T09:59:58Z","updatedAt":"2026-11-27T09:59:59Z","scheduledAt":null,'
                . '"senderId":"Acme","flow":"OTP","body":"Your code","segments":1,"encoding":"GSM7"}}';
            $test = '{"id":"evt_2","type":"webhook_test","createdAt":"2026-11-27T10:00:00Z","organizationId":"org_1",'
                . '"data":{"endpointId":"ep_1","message":"A test event from Herald"}}';
            $statuses = [
                self::post($server->url, $secret, 'evt_1', $delivered, tamper: true),
                self::post($server->url, $secret, 'evt_1', $delivered),
                self::post($server->url, $secret, 'evt_1', $delivered),
                self::post($server->url, $secret, 'evt_2', $test),
                self::post($unconfigured->url, $secret, 'evt_1', $delivered),
            ];
            $this->assertSame([400, 204, 204, 204, 500], $statuses);
            $log = $server->stderr();
            $this->assertSame(1, substr_count($log, 'handled sms_delivered msg_1 DELIVERED'), $log);
            $this->assertSame(1, substr_count($log, 'ignored webhook_test'), $log);
            $this->assertSame(1, substr_count($log, 'refused a webhook'), $log);
        } finally {
            $unconfigured->stop();
            $server->stop();
        }
    }

    private static function post(string $url, string $secret, string $id, string $body, bool $tamper = false): int
    {
        $timestamp = (string) time();
        $signature = base64_encode(hash_hmac('sha256', "$id.$timestamp.$body", base64_decode(substr($secret, 6)), true));
        $curl = curl_init("$url/webhooks/herald");
        curl_setopt_array($curl, [
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $tamper ? str_replace('DELIVERED', 'FAILED', $body) : $body,
            CURLOPT_HTTPHEADER => ['Content-Type: application/json', "Webhook-Id: $id", "Webhook-Timestamp: $timestamp", "Webhook-Signature: v1,$signature"],
            CURLOPT_RETURNTRANSFER => true,
        ]);
        curl_exec($curl);
        $status = curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        return $status;
    }
}
