<?php

declare(strict_types=1);

namespace Herald\Service;

use Herald\Model\WhatsAppMessage;
use Herald\Model\Page;
use Herald\Model\TimelineEntry;

/** WhatsApp messages (API key scopes send:whatsapp and read:whatsapp). */
final class WhatsApp extends MessageService
{
    public const SEND_FIELDS = ['to', 'type', 'text', 'template', 'externalId', 'scheduledAt'];

    protected const OPERATIONS = [
        'send' => 'sendWhatsapp',
        'batch' => 'sendWhatsappBatch',
        'list' => 'listWhatsapp',
        'get' => 'getWhatsapp',
        'timeline' => 'getWhatsappTimeline',
        'cancel' => 'cancelWhatsapp',
    ];

    /**
     * Queues one message and returns it QUEUED. Without $idempotencyKey the SDK makes a random
     * one; either way it is the same on every retry.
     *
     * @param array<string, mixed> $message
     */
    public function send(array $message, ?string $idempotencyKey = null): WhatsAppMessage
    {
        return $this->sendMessage($message, $idempotencyKey);
    }

    /**
     * Queues up to 100 messages at once, all or nothing, and returns them in order.
     *
     * @param list<array<string, mixed>> $messages
     * @return list<WhatsAppMessage>
     */
    public function batch(array $messages, ?string $idempotencyKey = null): array
    {
        return $this->sendBatch($messages, $idempotencyKey);
    }

    /**
     * Reads one page, newest first. Filters: status, query, createdFrom, createdTo, page, pageSize.
     *
     * @param array<string, mixed> $filters
     * @return Page<WhatsAppMessage>
     */
    public function list(array $filters = []): Page
    {
        return $this->listPage($filters);
    }

    /**
     * Yields every message matching the filters, newest first, reading the pages as it goes.
     *
     * @param array<string, mixed> $filters
     * @return \Generator<int, WhatsAppMessage>
     */
    public function listAll(array $filters = []): \Generator
    {
        return $this->listEvery($filters);
    }

    /** Reads one message with its current status. */
    public function get(string $id): WhatsAppMessage
    {
        return $this->getOne($id);
    }

    /**
     * Reads every entry of a message's timeline, oldest first.
     *
     * @return list<TimelineEntry>
     */
    public function timeline(string $id): array
    {
        return $this->timelineOf($id);
    }

    /** Cancels a message still QUEUED (typically scheduled); otherwise a ConflictException. */
    public function cancel(string $id): WhatsAppMessage
    {
        return $this->cancelOne($id);
    }

    /** @param array<string, mixed> $data */
    protected function decode(array $data): WhatsAppMessage
    {
        return WhatsAppMessage::fromArray($data);
    }
}
