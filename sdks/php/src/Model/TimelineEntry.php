<?php

declare(strict_types=1);

namespace Herald\Model;

use Herald\Internal\Convert;

/** One entry of a message's timeline. */
final readonly class TimelineEntry
{
    /**
     * @param array<string, mixed>|null $detail The raw provider payload or other detail.
     */
    public function __construct(
        public string $id,
        /** A status change's event type (sms_delivered), or provider_response, receipt_ignored, note, email_opened, email_clicked. */
        public string $type,
        /** The status a status change moved the message to. */
        public ?string $status,
        public \DateTimeImmutable $occurredAt,
        public ?array $detail,
    ) {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self($data['id'], $data['type'], $data['status'] ?? null, Convert::time($data['occurredAt']), $data['detail'] ?? null);
    }
}
