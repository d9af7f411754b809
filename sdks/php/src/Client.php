<?php

declare(strict_types=1);

namespace Herald;

use Herald\Internal\Transport;
use Herald\Model\ApiKey;
use Herald\Service\Emails;
use Herald\Service\Sms;
use Herald\Service\WhatsApp;

/**
 * The client of the Herald public API.
 *
 *     $herald = new Herald\Client(getenv('HERALD_API_KEY'), ['baseUrl' => 'https://herald.example.com']);
 *     $sms = $herald->sms->send(['to' => '+2348067000111', 'body' => 'Hi', 'senderId' => 'Acme']);
 */
final class Client
{
    public const VERSION = '0.1.0';

    /** `herald all` on this machine: the address when neither the baseUrl option nor HERALD_BASE_URL gives one. */
    public const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';

    private const OPTIONS = ['baseUrl', 'timeout', 'maxRetries', 'retryBaseDelay'];

    public readonly Sms $sms;
    public readonly Emails $emails;
    public readonly WhatsApp $whatsapp;
    private readonly Transport $transport;

    /**
     * @param array{baseUrl?: string, timeout?: float, maxRetries?: int, retryBaseDelay?: float} $options
     *   baseUrl: the API's address (default: HERALD_BASE_URL, else DEFAULT_BASE_URL);
     *   timeout: seconds per attempt (default 30); maxRetries: retries after a 429, a 5xx or a
     *   connection failure (default 3); retryBaseDelay: the first retry's delay in seconds,
     *   doubled each time, with jitter (default 0.5).
     */
    public function __construct(string $apiKey, array $options = [])
    {
        $unknown = array_diff(array_keys($options), self::OPTIONS);
        if ($unknown !== []) {
            throw new \InvalidArgumentException('unknown options: ' . implode(', ', $unknown));
        }
        $baseUrl = $options['baseUrl'] ?? (getenv('HERALD_BASE_URL') ?: self::DEFAULT_BASE_URL);
        $this->transport = new Transport(
            $apiKey,
            rtrim($baseUrl, '/'),
            (float) ($options['timeout'] ?? 30.0),
            max(0, (int) ($options['maxRetries'] ?? 3)),
            (float) ($options['retryBaseDelay'] ?? 0.5),
        );
        $this->sms = new Sms($this->transport);
        $this->emails = new Emails($this->transport);
        $this->whatsapp = new WhatsApp($this->transport);
    }

    /** Describes the API key presented, to check the credentials and their scopes. */
    public function key(): ApiKey
    {
        return ApiKey::fromArray($this->transport->call('getApiKey'));
    }
}
