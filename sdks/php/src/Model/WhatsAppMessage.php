<?php

declare(strict_types=1);

namespace Herald\Model;

use Herald\Internal\Convert;

/** A WhatsApp message as the API returns it, and as whatsapp_* webhook events carry it. */
final readonly class WhatsAppMessage
{
    public function __construct(
        public string $id,
        public string $channel,
        /** QUEUED, PROCESSING, SENT, DELIVERED, READ, FAILED or CANCELED. */
        public string $status,
        public string $to,
        public ?string $externalId,
        /** The wamid Meta gave the message. */
        public ?string $providerMessageId,
        public ?MessageError $error,
        public \DateTimeImmutable $createdAt,
        public \DateTimeImmutable $updatedAt,
        public ?\DateTimeImmutable $scheduledAt,
        /** text or template. */
        public string $type,
        public ?WhatsAppText $text,
        public ?WhatsAppTemplate $template,
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
            $data['type'],
            WhatsAppText::fromArray($data['text'] ?? null),
            WhatsAppTemplate::fromArray($data['template'] ?? null),
        );
    }
}
