<?php

declare(strict_types=1);

namespace Herald\Model;

use Herald\Internal\Convert;

/**
 * A customer webhook event. $data is the event's data as decoded JSON; read it typed with the
 * accessor of the event's family: sms(), email(), whatsapp() for message events (the message as
 * GET …/{id} returned it at that moment), optOut() for sms_opt_out, test() for webhook_test.
 */
final readonly class Event
{
    /**
     * @param array<string, mixed> $data
     */
    public function __construct(
        /** The event id, the webhook-id header: the same on every retry. Deduplicate on it. */
        public string $id,
        /** sms_delivered, email_opened, sms_opt_out, webhook_test, … */
        public string $type,
        public \DateTimeImmutable $createdAt,
        public string $organizationId,
        public array $data,
    ) {
    }

    /** @param array<string, mixed> $event */
    public static function fromArray(array $event): self
    {
        return new self($event['id'], $event['type'], Convert::time($event['createdAt']), $event['organizationId'], $event['data']);
    }

    /** The SMS of an sms_* status event. */
    public function sms(): SmsMessage
    {
        $this->expect(str_starts_with($this->type, 'sms_') && $this->type !== 'sms_opt_out');
        return SmsMessage::fromArray($this->data);
    }

    /** The email of an email_* event (status, open or click). */
    public function email(): EmailMessage
    {
        $this->expect(str_starts_with($this->type, 'email_'));
        return EmailMessage::fromArray($this->data);
    }

    /** The message of a whatsapp_* event. */
    public function whatsapp(): WhatsAppMessage
    {
        $this->expect(str_starts_with($this->type, 'whatsapp_'));
        return WhatsAppMessage::fromArray($this->data);
    }

    /** The data of an sms_opt_out event. */
    public function optOut(): OptOutData
    {
        $this->expect($this->type === 'sms_opt_out');
        return OptOutData::fromArray($this->data);
    }

    /** The data of a webhook_test event. */
    public function test(): WebhookTestData
    {
        $this->expect($this->type === 'webhook_test');
        return WebhookTestData::fromArray($this->data);
    }

    private function expect(bool $matches): void
    {
        if (!$matches) {
            throw new \LogicException(sprintf('a %s event does not carry this data', $this->type));
        }
    }
}
