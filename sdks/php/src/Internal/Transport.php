<?php

declare(strict_types=1);

namespace Herald\Internal;

use Herald\Client;
use Herald\Exception\ConnectionException;
use Herald\Exception\HeraldException;
use Herald\Model\FieldError;

/**
 * @internal Sends the API's requests with curl: authentication, User-Agent, Idempotency-Key,
 * retries with exponential backoff and jitter on 429, 5xx and connection failures (honouring
 * Retry-After), and error answers turned into exceptions.
 */
final class Transport
{
    private const MAX_BACKOFF = 20.0;

    public function __construct(
        private readonly string $apiKey,
        private readonly string $baseUrl,
        private readonly float $timeout,
        private readonly int $maxRetries,
        private readonly float $retryBaseDelay,
    ) {
    }

    /**
     * Calls an operation and returns its decoded JSON answer.
     *
     * @param array<string, mixed> $query
     * @param array<string, mixed>|null $body
     * @return array<string, mixed>
     */
    public function call(string $operationId, ?string $id = null, array $query = [], ?array $body = null, ?string $idempotencyKey = null): array
    {
        [$method, $path, $queryNames, $idempotent] = Operations::ALL[$operationId];
        $unknown = array_diff(array_keys($query), $queryNames);
        if ($unknown !== []) {
            throw new \InvalidArgumentException(sprintf('%s takes no filter %s; it takes %s', $operationId, implode(', ', $unknown), implode(', ', $queryNames)));
        }
        $url = $this->baseUrl . ($id === null ? $path : str_replace('{id}', rawurlencode($id), $path));
        $query = array_filter(array_map(self::queryValue(...), $query), static fn (?string $v): bool => $v !== null);
        if ($query !== []) {
            $url .= '?' . http_build_query($query, '', '&', PHP_QUERY_RFC3986);
        }
        $headers = [
            'Authorization: Bearer ' . $this->apiKey,
            'User-Agent: herald-php/' . Client::VERSION,
            'Accept: application/json',
        ];
        $payload = null;
        if ($body !== null) {
            $payload = json_encode($body, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
            $headers[] = 'Content-Type: application/json';
        }
        if ($idempotent) {
            $headers[] = 'Idempotency-Key: ' . ($idempotencyKey ?? self::uuid4());
        }

        for ($attempt = 0; ; $attempt++) {
            [$status, $responseHeaders, $responseBody, $failure] = $this->attempt($method, $url, $headers, $payload);
            if ($failure !== null) {
                if ($attempt < $this->maxRetries) {
                    self::sleep($this->backoff($attempt));
                    continue;
                }
                throw new ConnectionException(sprintf('%s %s: %s', $method, $path, $failure));
            }
            if ($status >= 200 && $status < 300) {
                return $responseBody === '' ? [] : json_decode($responseBody, true, 512, JSON_THROW_ON_ERROR);
            }
            if (($status === 429 || $status >= 500) && $attempt < $this->maxRetries) {
                self::sleep(self::retryAfter($responseHeaders) ?? $this->backoff($attempt));
                continue;
            }
            throw self::error($status, $responseHeaders, $responseBody);
        }
    }

    /**
     * @param list<string> $headers
     * @return array{int, array<string, string>, string, ?string} status, headers (lower-case names), body, and the failure, if any
     */
    private function attempt(string $method, string $url, array $headers, ?string $payload): array
    {
        $responseHeaders = [];
        $curl = curl_init($url);
        curl_setopt_array($curl, [
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_TIMEOUT_MS => (int) ceil($this->timeout * 1000),
            CURLOPT_CONNECTTIMEOUT_MS => (int) ceil($this->timeout * 1000),
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_HEADERFUNCTION => static function ($curl, string $line) use (&$responseHeaders): int {
                $parts = explode(':', $line, 2);
                if (count($parts) === 2) {
                    $responseHeaders[strtolower(trim($parts[0]))] = trim($parts[1]);
                }
                return strlen($line);
            },
        ]);
        if ($payload !== null) {
            curl_setopt($curl, CURLOPT_POSTFIELDS, $payload);
        }
        $body = curl_exec($curl);
        if ($body === false) {
            $failure = curl_error($curl);
            curl_close($curl);
            return [0, [], '', $failure];
        }
        $status = curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        return [$status, $responseHeaders, $body, null];
    }

    /** @param array<string, string> $headers */
    private static function error(int $status, array $headers, string $body): HeraldException
    {
        $decoded = json_decode($body, true);
        $error = is_array($decoded) && is_array($decoded['error'] ?? null) ? $decoded['error'] : null;
        $details = [];
        foreach (($error['details'] ?? []) as $detail) {
            $details[] = FieldError::fromArray($detail);
        }
        return HeraldException::fromResponse(
            $status,
            $error['code'] ?? null,
            $error['message'] ?? 'HTTP ' . $status,
            $details,
            $headers['x-request-id'] ?? null,
        );
    }

    private static function queryValue(mixed $value): ?string
    {
        return match (true) {
            $value === null => null,
            $value instanceof \DateTimeInterface => \DateTimeImmutable::createFromInterface($value)
                ->setTimezone(new \DateTimeZone('UTC'))->format('Y-m-d\TH:i:s.u\Z'),
            default => (string) $value,
        };
    }

    /** The delay before retry number $attempt + 1, in seconds: exponential, with jitter over its upper half. */
    private function backoff(int $attempt): float
    {
        $delay = min(self::MAX_BACKOFF, $this->retryBaseDelay * 2 ** $attempt);
        return $delay / 2 + $delay / 2 * (random_int(0, 1_000_000) / 1_000_000);
    }

    /** @param array<string, string> $headers */
    private static function retryAfter(array $headers): ?float
    {
        $value = $headers['retry-after'] ?? null;
        if ($value === null) {
            return null;
        }
        if (ctype_digit($value)) {
            return (float) $value;
        }
        $at = strtotime($value);
        return $at === false ? null : (float) max(0, $at - time());
    }

    private static function sleep(float $seconds): void
    {
        usleep((int) round($seconds * 1_000_000));
    }

    /** A random (version 4) UUID. */
    private static function uuid4(): string
    {
        $bytes = random_bytes(16);
        $bytes[6] = chr(ord($bytes[6]) & 0x0f | 0x40);
        $bytes[8] = chr(ord($bytes[8]) & 0x3f | 0x80);
        return vsprintf('%s%s-%s-%s-%s-%s%s%s', str_split(bin2hex($bytes), 4));
    }
}
