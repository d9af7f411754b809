<?php

declare(strict_types=1);

namespace Herald\Tests;

use Herald\Internal\Operations;
use Herald\Model;
use Herald\Service\Emails;
use Herald\Service\Sms;
use Herald\Service\WhatsApp;
use PHPUnit\Framework\TestCase;

/**
 * The drift check: the SDK's models, send fields and operations against openapi/public.json, so
 * that a change to the document fails these tests until the SDK follows it.
 */
final class DriftTest extends TestCase
{
    /** The model class of each component schema. */
    private const MODELS = [
        'ApprovedSenderId' => Model\SenderId::class,
        'ApprovedSenderIdPage' => Model\Page::class,
        'AttachmentInfo' => Model\AttachmentInfo::class,
        'CurrentKey' => Model\ApiKey::class,
        'EmailEvent' => Model\Event::class,
        'EmailMessage' => Model\EmailMessage::class,
        'EmailMessagePage' => Model\Page::class,
        'EmailStats' => Model\EmailStats::class,
        'EmailStatsDay' => Model\EmailStatsDay::class,
        'EmailStatsTotals' => Model\EmailStatsTotals::class,
        'FieldError' => Model\FieldError::class,
        'MessageError' => Model\MessageError::class,
        'SmsEvent' => Model\Event::class,
        'SmsMessage' => Model\SmsMessage::class,
        'SmsMessagePage' => Model\Page::class,
        'SmsOptOutData' => Model\OptOutData::class,
        'SmsOptOutEvent' => Model\Event::class,
        'TimelineEntry' => Model\TimelineEntry::class,
        'Tracking' => Model\Tracking::class,
        'WebhookTestData' => Model\WebhookTestData::class,
        'WebhookTestEvent' => Model\Event::class,
        'WhatsappEvent' => Model\Event::class,
        'WhatsappMessage' => Model\WhatsAppMessage::class,
        'WhatsappMessagePage' => Model\Page::class,
        'WhatsappTemplate' => Model\WhatsAppTemplate::class,
        'WhatsappText' => Model\WhatsAppText::class,
    ];

    /** The send bodies, arrays checked against each channel's SEND_FIELDS. */
    private const SEND_BODIES = ['SmsSend' => Sms::class, 'EmailSend' => Emails::class, 'WhatsappSend' => WhatsApp::class];

    /** The schemas with no class of their own, and what stands for them. */
    private const NOT_MODELLED = [
        'Attachment' => 'an array in an email send body',
        'Recipients' => 'a string or a list in an email send body',
        'EmailCounts' => 'its fields are in EmailStatsDay and EmailStatsTotals (allOf)',
        'EmailBatchRequest' => 'built by batch()', 'SmsBatchRequest' => 'built by batch()', 'WhatsappBatchRequest' => 'built by batch()',
        'EmailBatch' => 'batch() returns its data', 'SmsBatch' => 'batch() returns its data', 'WhatsappBatch' => 'batch() returns its data',
        'Timeline' => 'timeline() returns its data',
        'ErrorBody' => 'HeraldException', 'ErrorDetail' => 'HeraldException',
    ];

    /** The accessor of Event that reads each event schema's data. */
    private const EVENT_ACCESSORS = ['SmsEvent' => 'sms', 'EmailEvent' => 'email', 'WhatsappEvent' => 'whatsapp', 'SmsOptOutEvent' => 'optOut', 'WebhookTestEvent' => 'test'];

    /** @var array<string, mixed> */
    private static array $doc;

    public static function setUpBeforeClass(): void
    {
        self::$doc = json_decode(file_get_contents(__DIR__ . '/../../../openapi/public.json'), true, 512, JSON_THROW_ON_ERROR);
    }

    /** @return array<string, mixed> */
    private static function schema(string $name): array
    {
        return self::$doc['components']['schemas'][$name];
    }

    /**
     * A schema's properties, through allOf.
     *
     * @return array<string, array<string, mixed>>
     */
    private static function properties(array $schema): array
    {
        $properties = [];
        foreach ($schema['allOf'] ?? [] as $part) {
            $properties += self::properties(isset($part['$ref']) ? self::schema(basename($part['$ref'])) : $part);
        }
        return $properties + ($schema['properties'] ?? []);
    }

    /** @return list<string> */
    private static function sorted(array $names): array
    {
        sort($names);
        return $names;
    }

    public function testEverySchemaIsAccountedFor(): void
    {
        $accounted = array_merge(array_keys(self::MODELS), array_keys(self::SEND_BODIES), array_keys(self::NOT_MODELLED));
        $this->assertSame(self::sorted(array_keys(self::$doc['components']['schemas'])), self::sorted($accounted));
    }

    public function testModelsHaveTheSchemasFields(): void
    {
        foreach (self::MODELS as $schema => $class) {
            $parameters = array_map(
                static fn (\ReflectionParameter $p): string => $p->getName(),
                (new \ReflectionClass($class))->getConstructor()->getParameters(),
            );
            $this->assertSame(self::sorted(array_keys(self::properties(self::schema($schema)))), self::sorted($parameters), "$schema ($class)");
        }
    }

    public function testSendFieldsAreTheSchemasFields(): void
    {
        foreach (self::SEND_BODIES as $schema => $service) {
            $this->assertSame(self::sorted(array_keys(self::properties(self::schema($schema)))), self::sorted($service::SEND_FIELDS), $schema);
        }
    }

    /** Builds a value of a schema from the document's examples. */
    private static function example(array $schema): mixed
    {
        if (isset($schema['$ref'])) {
            return self::example(self::schema(basename($schema['$ref'])));
        }
        if (isset($schema['oneOf'])) {
            foreach ($schema['oneOf'] as $alternative) {
                if (isset($alternative['$ref'])) {
                    return self::example($alternative);
                }
            }
        }
        if (array_key_exists('example', $schema)) {
            return $schema['example'];
        }
        if (isset($schema['examples'])) {
            return $schema['examples'][0];
        }
        if (($schema['type'] ?? null) === 'array') {
            return [self::example($schema['items'])];
        }
        $value = [];
        foreach (self::properties($schema) as $name => $property) {
            $value[$name] = self::example($property);
        }
        return $value;
    }

    public function testModelsDecodeTheDocumentsExamples(): void
    {
        foreach (self::MODELS as $schema => $class) {
            $example = self::example(self::schema($schema));
            $model = $class === Model\Page::class ? Model\Page::fromArray($example, static fn (array $item): array => $item) : $class::fromArray($example);
            $this->assertInstanceOf($class, $model, $schema);
        }
    }

    public function testEveryWebhookDecodesWithTheAccessorOfItsSchema(): void
    {
        $this->assertNotEmpty(self::$doc['webhooks']);
        foreach (self::$doc['webhooks'] as $type => $operation) {
            $schema = basename($operation['post']['requestBody']['content']['application/json']['schema']['$ref']);
            $this->assertArrayHasKey($schema, self::EVENT_ACCESSORS, "the $type webhook");
            $event = Model\Event::fromArray(['type' => $type] + self::example(self::schema($schema)));
            foreach (self::EVENT_ACCESSORS as $eventSchema => $accessor) {
                try {
                    $event->$accessor();
                    $this->assertSame($schema, $eventSchema, "$type read by $accessor()");
                } catch (\LogicException) {
                    $this->assertNotSame($schema, $eventSchema, "$type refused by $accessor()");
                }
            }
        }
    }

    public function testOperationsAreTheDocuments(): void
    {
        $documented = [];
        foreach (self::$doc['paths'] as $path => $operations) {
            foreach ($operations as $method => $operation) {
                $query = [];
                $idempotent = false;
                foreach ($operation['parameters'] ?? [] as $parameter) {
                    if ($parameter['in'] === 'query') {
                        $query[] = $parameter['name'];
                    }
                    $idempotent = $idempotent || ($parameter['in'] === 'header' && $parameter['name'] === 'Idempotency-Key');
                }
                $documented[$operation['operationId']] = [strtoupper($method), $path, self::sorted($query), $idempotent];
            }
        }
        $sdk = array_map(static fn (array $op): array => [$op[0], $op[1], self::sorted($op[2]), $op[3]], Operations::ALL);
        ksort($documented);
        ksort($sdk);
        $this->assertSame($documented, $sdk);
    }
}
