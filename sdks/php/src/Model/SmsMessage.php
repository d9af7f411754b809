<?php

declare(strict_types=1);

namespace Herald\Model;

use Herald\Internal\Convert;

/** An SMS as the API returns it, and as sms_* webhook events carry it. */
final readonly class SmsMessage
{
    public function __construct(
        public string $id,
        public string $channel,
        /** QUEUED, PROCESSING, SENT, DELIVERED, FAILED or CANCELED. */
        public string $status,
        public string $to,
        public ?string $externalId,
        public ?string $providerMessageId,
        public ?MessageError $error,
        public \DateTimeImmutable $createdAt,
        public \DateTimeImmutable $updatedAt,
        public ?\DateTimeImmutable $scheduledAt,
        public string $senderId,
        /** OTP or STANDARD. */
        public string $flow,
        public string $body,
        /** How many SMS parts the text takes. */
        public int $segments,
        /** GSM7 or UCS2. */
        public string $encoding,
    ) {
    }

    /** @param array<string, mixed> $data */
    public static function fromArray(array $data): self
    {
        return new self(
            $data['id'],
            $data['channel'],
            $data['status'],
            $data['to'],
            $data['externalId'] ?? null,
            $data['providerMessageId'] ?? null,
            MessageError::fromArray($data['error'] ?? null),
            Convert::time($data['createdAt']),
            Convert::time($data['updatedAt']),
            Convert::time($data['scheduledAt'] ?? null),
            $data['senderId'],
            $data['flow'],
            $data['body'],
            $data['segments'],
            $data['encoding'],
        );
    }
}
