<?php

declare(strict_types=1);

namespace Herald\Model;

/** The data of a webhook_test event. */
final readonly class WebhookTestData
{
    public function __construct(public string $endpointId, public string $message)
    {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self($data['endpointId'], $data['message']);
    }
}
