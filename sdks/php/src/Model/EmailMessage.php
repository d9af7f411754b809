<?php

declare(strict_types=1);

namespace Herald\Model;

use Herald\Internal\Convert;

/** An email as the API returns it, and as email_* webhook events carry it. */
final readonly class EmailMessage
{
    /**
     * @param list<string> $to
     * @param list<string> $cc
     * @param list<string> $bcc
     * @param list<string> $replyTo
     * @param array<string, string> $headers
     * @param array<string, string> $tags
     * @param list<AttachmentInfo> $attachments
     */
    public function __construct(
        public string $id,
        public string $channel,
        /** QUEUED, PROCESSING, SENT, DELIVERED, BOUNCED, COMPLAINED, FAILED or CANCELED. */
        public string $status,
        public array $to,
        public ?string $externalId,
        public ?string $providerMessageId,
        public ?MessageError $error,
        public \DateTimeImmutable $createdAt,
        public \DateTimeImmutable $updatedAt,
        public ?\DateTimeImmutable $scheduledAt,
        public string $from,
        public array $cc,
        public array $bcc,
        public array $replyTo,
        public string $subject,
        public ?string $html,
        public ?string $text,
        public array $headers,
        public array $tags,
        public array $attachments,
        public Tracking $tracking,
        /** Open hits so far. */
        public int $opens,
        /** Click hits so far. */
        public int $clicks,
        /** The first open. */
        public ?\DateTimeImmutable $openedAt,
        /** The first click. */
        public ?\DateTimeImmutable $clickedAt,
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
            $data['from'],
            $data['cc'],
            $data['bcc'],
            $data['replyTo'],
            $data['subject'],
            $data['html'] ?? null,
            $data['text'] ?? null,
            $data['headers'],
            $data['tags'],
            Convert::list($data['attachments'], AttachmentInfo::fromArray(...)),
            Tracking::fromArray($data['tracking']),
            $data['opens'],
            $data['clicks'],
            Convert::time($data['openedAt'] ?? null),
            Convert::time($data['clickedAt'] ?? null),
        );
    }
}
