<?php

declare(strict_types=1);

namespace Herald\Service;

use Herald\Model\SmsMessage;
use Herald\Model\Page;
use Herald\Model\TimelineEntry;
use Herald\Model\SenderId;

/** SMS messages (API key scopes send:sms and read:sms). */
final class Sms extends MessageService
{
    public const SEND_FIELDS = ['to', 'body', 'senderId', 'flow', 'externalId', 'scheduledAt'];

    protected const OPERATIONS = [
        'send' => 'sendSms',
        'batch' => 'sendSmsBatch',
        'list' => 'listSms',
        'get' => 'getSms',
        'timeline' => 'getSmsTimeline',
        'cancel' => 'cancelSms',
    ];

    /**
     * Queues one message and returns it QUEUED. Without $idempotencyKey the SDK makes a random
     * one; either way it is the same on every retry.
     *
     * @param array<string, mixed> $message
     */
    public function send(array $message, ?string $idempotencyKey = null): SmsMessage
    {
        return $this->sendMessage($message, $idempotencyKey);
    }

    /**
     * Queues up to 100 messages at once, all or nothing, and returns them in order.
     *
     * @param list<array<string, mixed>> $messages
     * @return list<SmsMessage>
     */
    public function batch(array $messages, ?string $idempotencyKey = null): array
    {
        return $this->sendBatch($messages, $idempotencyKey);
    }

    /**
     * Reads one page, newest first. Filters: status, flow, query, createdFrom, createdTo, page, pageSize.
     *
     * @param array<string, mixed> $filters
     * @return Page<SmsMessage>
     */
    public function list(array $filters = []): Page
    {
        return $this->listPage($filters);
    }

    /**
     * Yields every message matching the filters, newest first, reading the pages as it goes.
     *
     * @param array<string, mixed> $filters
     * @return \Generator<int, SmsMessage>
     */
    public function listAll(array $filters = []): \Generator
    {
        return $this->listEvery($filters);
    }

    /** Reads one message with its current status. */
    public function get(string $id): SmsMessage
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
    public function cancel(string $id): SmsMessage
    {
        return $this->cancelOne($id);
    }

    /** @param array<string, mixed> $data */
    protected function decode(array $data): SmsMessage
    {
        return SmsMessage::fromArray($data);
    }

    /**
     * Reads one page of the organization's approved sender IDs.
     *
     * @return Page<SenderId>
     */
    public function senderIds(?int $page = null, ?int $pageSize = null): Page
    {
        $answer = $this->transport->call('listSenderIds', query: ['page' => $page, 'pageSize' => $pageSize]);
        return Page::fromArray($answer, SenderId::fromArray(...));
    }
}
