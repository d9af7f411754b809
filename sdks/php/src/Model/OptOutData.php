<?php

declare(strict_types=1);

namespace Herald\Model;

use Herald\Internal\Convert;

/** The data of an sms_opt_out event. */
final readonly class OptOutData
{
    public function __construct(
        public string $phoneNumber,
        /** added or removed. */
        public string $action,
        /** inbound (a STOP or START text) or api. */
        public string $source,
        public \DateTimeImmutable $occurredAt,
    ) {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self($data['phoneNumber'], $data['action'], $data['source'], Convert::time($data['occurredAt']));
    }
}
