<?php

declare(strict_types=1);

namespace Herald\Model;

/** Whether an email's opens and clicks are tracked. */
final readonly class Tracking
{
    public function __construct(public bool $opens, public bool $clicks)
    {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self($data['opens'], $data['clicks']);
    }
}
