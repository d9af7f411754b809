<?php

// The parity runner: executes every scenario of sdks/parity/scenarios.json against a live Herald
// with this SDK's public API, printing "ok <name>" or "FAIL <name>: <why>" per scenario.
//
//     HERALD_BASE_URL=… HERALD_API_KEY=… HERALD_SESSION_TOKEN=… HERALD_SMS_SENDER_ID=… php parity.php
//
// Under `php -S` (PHP_SAPI cli-server) this file is the webhook receiver of
// webhook_delivery_verified instead: it stores each request it gets in PARITY_CAPTURE_DIR.

declare(strict_types=1);

require __DIR__ . '/autoload.php';

use Herald\Client;
use Herald\Exception\HeraldException;
use Herald\Exception\WebhookVerificationException;
use Herald\Webhook;

if (PHP_SAPI === 'cli-server') {
    $capture = ['headers' => getallheaders(), 'body' => file_get_contents('php://input')];
    $file = getenv('PARITY_CAPTURE_DIR') . '/' . hrtime(true) . '-' . bin2hex(random_bytes(4)) . '.json';
    file_put_contents("$file.tmp", json_encode($capture));
    rename("$file.tmp", $file);
    http_response_code(204);
    return;
}

final class Parity
{
    private Client $client;

    public function __construct(
        private readonly string $baseUrl,
        private readonly string $apiKey,
        private readonly string $sessionToken,
        private readonly string $senderId,
    ) {
        $this->client = new Client($apiKey, ['baseUrl' => $baseUrl]);
    }

    /** @param array<string, mixed> $s */
    public function key_check(array $s): void
    {
        $key = $this->client->key();
        $got = $key->scopes;
        $want = $s['expect']['scopes'];
        sort($got);
        sort($want);
        self::check($got === $want, 'scopes %s, want %s', json_encode($key->scopes), json_encode($s['expect']['scopes']));
        self::check(str_starts_with($this->apiKey, $key->prefix) && $key->id !== '', 'the key %s does not describe the presented key', $key->prefix);
    }

    /** @param array<string, mixed> $s */
    public function send_each_channel(array $s): void
    {
        $ids = [];
        foreach ($s['sends'] as $i => $send) {
            $message = $this->service($send['channel'])->send($send['body']);
            self::check($message->status === 'QUEUED', '%s send answered %s, want QUEUED', $send['channel'], $message->status);
            $ids[$i] = $message->id;
        }
        foreach ($s['sends'] as $i => $send) {
            $service = $this->service($send['channel']);
            $deadline = microtime(true) + 30;
            do {
                $message = $service->get($ids[$i]);
                if ($message->status === $send['final']) {
                    break;
                }
                usleep(250_000);
            } while (microtime(true) < $deadline);
            self::check($message->status === $send['final'], '%s %s is %s after 30 s, want %s', $send['channel'], $message->id, $message->status, $send['final']);
            if ($send['errorPresent'] ?? false) {
                self::check($message->error !== null, '%s %s is %s without an error', $send['channel'], $message->id, $message->status);
            }
            if (isset($send['timeline'])) {
                $types = array_map(static fn ($entry): string => $entry->type, $service->timeline($ids[$i]));
                $kept = array_values(array_filter($types, static fn (string $t): bool => in_array($t, $send['timeline'], true)));
                self::check($kept === $send['timeline'], '%s %s timeline %s, want %s in this order', $send['channel'], $message->id, json_encode($types), json_encode($send['timeline']));
            }
        }
    }

    /** @param array<string, mixed> $s */
    public function idempotent_resend(array $s): void
    {
        $service = $this->service($s['channel']);
        $first = $service->send($s['body'], $s['idempotencyKey']);
        $again = $service->send($s['body'], $s['idempotencyKey']);
        self::check($again->id === $first->id, 'the same key gave two messages: %s and %s', $first->id, $again->id);
        self::expectError(fn () => $service->send($s['otherBody'], $s['idempotencyKey']), $s['expectOther'], 'another body with the key');
        $unkeyed = [$service->send($s['body'])->id, $service->send($s['body'])->id];
        self::check(count(array_unique([...$unkeyed, $first->id])) === 3, 'two sends without a key gave %s', json_encode($unkeyed));
        $total = $service->list(['query' => $s['body']['externalId']])->total;
        self::check($total === 3, '%d messages carry %s, want 3 (one per distinct send)', $total, $s['body']['externalId']);
    }

    /** @param array<string, mixed> $s */
    public function batch(array $s): void
    {
        $service = $this->service($s['channel']);
        $messages = $service->batch($s['messages']);
        self::check(count($messages) === count($s['messages']), 'a batch of %d answered %d messages', count($s['messages']), count($messages));
        foreach ($messages as $i => $message) {
            self::check(
                $message->status === 'QUEUED' && $message->externalId === $s['messages'][$i]['externalId'] && $message->to === $s['messages'][$i]['to'],
                'batch item %d is %s %s',
                $i,
                $message->status,
                $message->externalId,
            );
        }
        $before = new DateTimeImmutable('-1 second');
        self::expectError(fn () => $service->batch($s['invalid']), $s['expectInvalid'], 'the invalid batch');
        $stored = $service->list(['query' => ltrim($s['invalid'][0]['to'], '+'), 'createdFrom' => $before])->total;
        self::check($stored === 0, 'the refused batch stored %d messages', $stored);
    }

    /** @param array<string, mixed> $s */
    public function list_filters_and_paging(array $s): void
    {
        $otp = [];
        for ($i = 0; $i < $s['otp'] + $s['standard']; $i++) {
            $flow = $i < $s['otp'] ? 'OTP' : 'STANDARD';
            $message = $this->client->sms->send(['flow' => $flow] + $s['body']);
            if ($flow === 'OTP') {
                array_unshift($otp, $message->id); // newest first
            }
        }
        $filters = $s['filter'] + ['pageSize' => $s['pageSize']];
        $page = $this->client->sms->list($filters);
        self::check(
            $page->total === $s['expectTotal'] && count($page->data) === $s['pageSize'] && $page->page === 1 && $page->pageSize === $s['pageSize'],
            'the first page has total %d, %d items, page %d of size %d',
            $page->total,
            count($page->data),
            $page->page,
            $page->pageSize,
        );
        $walked = [];
        foreach ($this->client->sms->listAll($filters) as $message) {
            $walked[] = $message->id;
        }
        self::check($walked === $otp, 'the generator gave %s, want %s', json_encode($walked), json_encode($otp));
    }

    /** @param array<string, mixed> $s */
    public function cancel_scheduled(array $s): void
    {
        $service = $this->service($s['channel']);
        $message = $service->send($s['body']);
        self::check(
            $message->scheduledAt?->getTimestamp() === (new DateTimeImmutable($s['body']['scheduledAt']))->getTimestamp(),
            'the message is scheduled at %s, want %s',
            $message->scheduledAt?->format(DATE_RFC3339) ?? 'null',
            $s['body']['scheduledAt'],
        );
        $canceled = $service->cancel($message->id);
        self::check($canceled->status === 'CANCELED' && $canceled->id === $message->id, 'cancel answered %s %s', $canceled->id, $canceled->status);
        self::expectError(fn () => $service->cancel($message->id), $s['expectAgain'], 'canceling again');
    }

    /** @param array<string, mixed> $s */
    public function errors_by_code(array $s): void
    {
        foreach ($s['cases'] as $i => $case) {
            $call = match ($case['call']) {
                'send' => fn () => $this->service($case['channel'])->send($case['body']),
                'get' => fn () => $this->service($case['channel'])->get($case['id']),
                'keyCheck' => fn () => (new Client($case['apiKey'], ['baseUrl' => $this->baseUrl]))->key(),
            };
            self::expectError($call, $case, sprintf('case %d (%s)', $i, $case['call']));
        }
    }

    /** @param array<string, mixed> $s */
    public function email_stats_and_sender_ids(array $s): void
    {
        $today = new DateTimeImmutable('now', new DateTimeZone('UTC'));
        $stats = $this->client->emails->stats($today->modify(sprintf('-%d days', $s['statsDays'] - 1)), $today);
        $day = $today->format('Y-m-d');
        self::check(
            $stats->to === $day && count($stats->daily) === $s['statsDays'] && $stats->daily[count($stats->daily) - 1]->date === $day,
            'stats from %s to %s with %d days, want %d days ending %s',
            $stats->from,
            $stats->to,
            count($stats->daily),
            $s['statsDays'],
            $day,
        );
        self::check($stats->totals->deliveryRate >= 0 && $stats->totals->deliveryRate <= 1, 'delivery rate %f', $stats->totals->deliveryRate);
        $senders = array_map(static fn ($s): string => strtolower($s->senderId), $this->client->sms->senderIds(1, 100)->data);
        self::check(in_array(strtolower($this->senderId), $senders, true), 'the approved sender IDs %s lack %s', json_encode($senders), $this->senderId);
    }

    /** @param array<string, mixed> $s */
    public function webhook_delivery_verified(array $s): void
    {
        $dir = sys_get_temp_dir() . '/herald-parity-' . bin2hex(random_bytes(6));
        mkdir($dir);
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        $address = stream_socket_get_name($probe, false);
        fclose($probe);
        $receiver = proc_open(
            [PHP_BINARY, '-S', $address, __FILE__],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes,
            null,
            ['PARITY_CAPTURE_DIR' => $dir] + getenv(),
        );
        $endpoint = null;
        try {
            $endpoint = $this->controlPlane('POST', '/v1/webhook-endpoints', ['url' => "http://$address/webhooks/herald", 'eventTypes' => $s['eventTypes']], 201);
            $sent = $this->client->sms->send($s['body']);
            $deadline = microtime(true) + 30;
            $seen = [];
            while (microtime(true) < $deadline) {
                foreach (glob("$dir/*.json") as $file) {
                    if (isset($seen[$file])) {
                        continue;
                    }
                    $seen[$file] = true;
                    $delivery = json_decode(file_get_contents($file), true);
                    try {
                        $event = Webhook::verify($delivery['body'], $delivery['headers'], [$endpoint['secret']]);
                    } catch (WebhookVerificationException $e) {
                        throw new RuntimeException('a genuine delivery was refused: ' . $e->getMessage());
                    }
                    $message = $event->sms();
                    if ($message->id !== $sent->id) {
                        continue; // another message of the organization
                    }
                    self::check(
                        $event->type === $s['expectType'] && $message->status === 'DELIVERED',
                        'event %s carries %s %s',
                        $event->type,
                        $message->id,
                        $message->status,
                    );
                    self::refusesTampering($delivery, $endpoint['secret']);
                    return;
                }
                usleep(200_000);
            }
            throw new RuntimeException("no {$s['expectType']} delivery for {$sent->id} within 30 s");
        } finally {
            if ($endpoint !== null) {
                $this->controlPlane('DELETE', "/v1/webhook-endpoints/{$endpoint['id']}", null, 204);
            }
            proc_terminate($receiver);
            proc_close($receiver);
            array_map('unlink', glob("$dir/*") ?: []);
            rmdir($dir);
        }
    }

    /** @param array{headers: array<string, string>, body: string} $delivery */
    private static function refusesTampering(array $delivery, string $secret): void
    {
        $body = $delivery['body'];
        $middle = intdiv(strlen($body), 2);
        $body[$middle] = chr(ord($body[$middle]) ^ 1);
        $headers = array_change_key_case($delivery['headers'], CASE_LOWER);
        $stale = ['webhook-timestamp' => (string) (time() - 600)] + $headers;
        foreach ([[$body, $headers, WebhookVerificationException::SIGNATURE, 'a body changed by one byte'],
                  [$delivery['body'], $stale, WebhookVerificationException::TIMESTAMP, 'a timestamp 10 minutes old']] as [$payload, $h, $code, $what]) {
            try {
                Webhook::verify($payload, $h, [$secret]);
                throw new RuntimeException("$what verified");
            } catch (WebhookVerificationException $e) {
                self::check($e->getCode() === $code, '%s: refused with code %d, want %d', $what, $e->getCode(), $code);
            }
        }
    }

    private function service(string $channel): Herald\Service\MessageService
    {
        return match ($channel) {
            'sms' => $this->client->sms,
            'email' => $this->client->emails,
            'whatsapp' => $this->client->whatsapp,
        };
    }

    /** @param array<string, mixed> $want status, code and optionally field */
    private static function expectError(callable $call, array $want, string $what): void
    {
        try {
            $call();
        } catch (HeraldException $e) {
            self::check(
                $e->getStatusCode() === $want['status'] && $e->getErrorCode() === $want['code'],
                '%s: got %d %s, want %d %s',
                $what,
                $e->getStatusCode(),
                $e->getErrorCode(),
                $want['status'],
                $want['code'],
            );
            self::check($e->getRequestId() !== null, '%s: the error has no request id', $what);
            if (isset($want['field'])) {
                $fields = array_map(static fn ($d): string => $d->field, $e->getDetails());
                self::check(in_array($want['field'], $fields, true), '%s: the details %s do not name %s', $what, json_encode($fields), $want['field']);
            }
            return;
        }
        throw new RuntimeException("$what: no error, want {$want['status']} {$want['code']}");
    }

    /** A session route, which the SDK does not cover. */
    private function controlPlane(string $method, string $path, ?array $body, int $want): ?array
    {
        $curl = curl_init(rtrim($this->baseUrl, '/') . $path);
        curl_setopt_array($curl, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_HTTPHEADER => ["Authorization: Bearer $this->sessionToken", 'Content-Type: application/json'],
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT => 30,
        ]);
        if ($body !== null) {
            curl_setopt($curl, CURLOPT_POSTFIELDS, json_encode($body));
        }
        $answer = curl_exec($curl);
        $status = curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        self::check($status === $want, '%s %s answered %d: %s', $method, $path, $status, (string) $answer);
        return $answer === '' ? null : json_decode($answer, true);
    }

    private static function check(bool $ok, string $format, mixed ...$args): void
    {
        if (!$ok) {
            throw new RuntimeException(vsprintf($format, $args));
        }
    }
}

$env = [];
foreach (['HERALD_BASE_URL', 'HERALD_API_KEY', 'HERALD_SESSION_TOKEN', 'HERALD_SMS_SENDER_ID'] as $name) {
    $env[$name] = getenv($name) ?: '';
    if ($env[$name] === '') {
        fwrite(STDERR, "parity: set HERALD_BASE_URL, HERALD_API_KEY, HERALD_SESSION_TOKEN and HERALD_SMS_SENDER_ID\n");
        exit(2);
    }
}
$path = getenv('HERALD_SDK_PARITY') ?: __DIR__ . '/../parity/scenarios.json';
$text = strtr(file_get_contents($path), [
    '$RUN' => 'php-' . base_convert((string) hrtime(true), 10, 36),
    '$SMS_SENDER_ID' => $env['HERALD_SMS_SENDER_ID'],
    '$IN_1H' => gmdate('Y-m-d\TH:i:s\Z', time() + 3600),
]);
$scenarios = json_decode($text, true, 512, JSON_THROW_ON_ERROR)['scenarios'];
$parity = new Parity($env['HERALD_BASE_URL'], $env['HERALD_API_KEY'], $env['HERALD_SESSION_TOKEN'], $env['HERALD_SMS_SENDER_ID']);

$failed = 0;
foreach ($scenarios as $scenario) {
    $name = $scenario['name'];
    try {
        if (!method_exists($parity, $name)) {
            throw new RuntimeException('this runner does not know the scenario');
        }
        $parity->$name($scenario);
        echo "ok $name\n";
    } catch (Throwable $e) {
        $failed++;
        echo "FAIL $name: " . get_class($e) . ': ' . $e->getMessage() . "\n";
    }
}
exit($failed > 0 ? 1 : 0);
