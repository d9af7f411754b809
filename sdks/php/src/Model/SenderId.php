<?php

declare(strict_types=1);

namespace Herald\Model;

use Herald\Internal\Convert;

/** A sender ID the organization may send SMS from. */
final readonly class SenderId
{
    public function __construct(public string $senderId, public \DateTimeImmutable $approvedAt)
    {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self($data['senderId'], Convert::time($data['approvedAt']));
    }
}
