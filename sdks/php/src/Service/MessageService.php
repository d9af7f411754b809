<?php

declare(strict_types=1);

namespace Herald\Service;

use Herald\Internal\Transport;
use Herald\Model\Page;
use Herald\Model\TimelineEntry;

/**
 * What the three channels share: send, batch, list, a generator over every page, get, timeline
 * and cancel. A send body is an array of the API's fields (see SEND_FIELDS of each channel);
 * a DateTimeInterface is accepted for scheduledAt and the createdFrom/createdTo filters.
 */
abstract class MessageService
{
    /** The fields of a send body. */
    public const SEND_FIELDS = [];

    /** @var array{send: string, batch: string, list: string, get: string, timeline: string, cancel: string} */
    protected const OPERATIONS = ['send' => '', 'batch' => '', 'list' => '', 'get' => '', 'timeline' => '', 'cancel' => ''];

    public function __construct(protected readonly Transport $transport)
    {
    }

    /** @param array<string, mixed> $data */
    abstract protected function decode(array $data): object;

    /** @param array<string, mixed> $message */
    protected function sendMessage(array $message, ?string $idempotencyKey): object
    {
        return $this->decode($this->transport->call(static::OPERATIONS['send'], body: $this->body($message), idempotencyKey: $idempotencyKey));
    }

    /**
     * @param list<array<string, mixed>> $messages
     * @return list<object>
     */
    protected function sendBatch(array $messages, ?string $idempotencyKey): array
    {
        $body = ['messages' => array_values(array_map($this->body(...), $messages))];
        $answer = $this->transport->call(static::OPERATIONS['batch'], body: $body, idempotencyKey: $idempotencyKey);
        return array_values(array_map($this->decode(...), $answer['data']));
    }

    /** @param array<string, mixed> $filters */
    protected function listPage(array $filters): Page
    {
        return Page::fromArray($this->transport->call(static::OPERATIONS['list'], query: $filters), $this->decode(...));
    }

    /**
     * @param array<string, mixed> $filters
     * @return \Generator<int, object>
     */
    protected function listEvery(array $filters): \Generator
    {
        $filters['page'] = $filters['page'] ?? 1;
        do {
            $page = $this->listPage($filters);
            yield from $page->data;
            $filters['page'] = $page->page + 1;
        } while ($page->hasMore());
    }

    protected function getOne(string $id): object
    {
        return $this->decode($this->transport->call(static::OPERATIONS['get'], $id));
    }

    /** @return list<TimelineEntry> */
    protected function timelineOf(string $id): array
    {
        $answer = $this->transport->call(static::OPERATIONS['timeline'], $id);
        return array_values(array_map(TimelineEntry::fromArray(...), $answer['data']));
    }

    protected function cancelOne(string $id): object
    {
        return $this->decode($this->transport->call(static::OPERATIONS['cancel'], $id));
    }

    /**
     * @param array<string, mixed> $message
     * @return array<string, mixed>
     */
    private function body(array $message): array
    {
        $unknown = array_diff(array_keys($message), static::SEND_FIELDS);
        if ($unknown !== []) {
            throw new \InvalidArgumentException(sprintf('unknown send fields %s; the fields are %s', implode(', ', $unknown), implode(', ', static::SEND_FIELDS)));
        }
        return array_map(
            static fn (mixed $v): mixed => $v instanceof \DateTimeInterface
                ? \DateTimeImmutable::createFromInterface($v)->setTimezone(new \DateTimeZone('UTC'))->format('Y-m-d\TH:i:s.u\Z')
                : $v,
            $message,
        );
    }
}
