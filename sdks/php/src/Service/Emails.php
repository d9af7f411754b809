<?php

declare(strict_types=1);

namespace Herald\Service;

use Herald\Model\EmailMessage;
use Herald\Model\Page;
use Herald\Model\TimelineEntry;
use Herald\Model\EmailStats;

/** Email messages (API key scopes send:email and read:email). */
final class Emails extends MessageService
{
    public const SEND_FIELDS = ['from', 'to', 'cc', 'bcc', 'replyTo', 'subject', 'html', 'text', 'headers', 'tags', 'attachments', 'externalId', 'scheduledAt', 'tracking'];

    protected const OPERATIONS = [
        'send' => 'sendEmail',
        'batch' => 'sendEmailBatch',
        'list' => 'listEmails',
        'get' => 'getEmail',
        'timeline' => 'getEmailTimeline',
        'cancel' => 'cancelEmail',
    ];

    /**
     * Queues one message and returns it QUEUED. Without $idempotencyKey the SDK makes a random
     * one; either way it is the same on every retry.
     *
     * @param array<string, mixed> $message
     */
    public function send(array $message, ?string $idempotencyKey = null): EmailMessage
    {
        return $this->sendMessage($message, $idempotencyKey);
    }

    /**
     * Queues up to 100 messages at once, all or nothing, and returns them in order.
     *
     * @param list<array<string, mixed>> $messages
     * @return list<EmailMessage>
     */
    public function batch(array $messages, ?string $idempotencyKey = null): array
    {
        return $this->sendBatch($messages, $idempotencyKey);
    }

    /**
     * Reads one page, newest first. Filters: status, query, createdFrom, createdTo, page, pageSize.
     *
     * @param array<string, mixed> $filters
     * @return Page<EmailMessage>
     */
    public function list(array $filters = []): Page
    {
        return $this->listPage($filters);
    }

    /**
     * Yields every message matching the filters, newest first, reading the pages as it goes.
     *
     * @param array<string, mixed> $filters
     * @return \Generator<int, EmailMessage>
     */
    public function listAll(array $filters = []): \Generator
    {
        return $this->listEvery($filters);
    }

    /** Reads one message with its current status. */
    public function get(string $id): EmailMessage
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
    public function cancel(string $id): EmailMessage
    {
        return $this->cancelOne($id);
    }

    /** @param array<string, mixed> $data */
    protected function decode(array $data): EmailMessage
    {
        return EmailMessage::fromArray($data);
    }

    /**
     * Reads the email statistics of a range of UTC days, both inclusive (YYYY-MM-DD strings or
     * dates; by default the 30 days up to today).
     */
    public function stats(string|\DateTimeInterface|null $from = null, string|\DateTimeInterface|null $to = null): EmailStats
    {
        $day = static fn (string|\DateTimeInterface|null $d): ?string => $d instanceof \DateTimeInterface
            ? \DateTimeImmutable::createFromInterface($d)->setTimezone(new \DateTimeZone('UTC'))->format('Y-m-d')
            : $d;
        return EmailStats::fromArray($this->transport->call('getEmailStats', query: ['from' => $day($from), 'to' => $day($to)]));
    }
}
