<?php

declare(strict_types=1);

namespace Herald\Internal;

/**
 * @internal Every operation of the public API, by its OpenAPI operationId: method, path ({id}
 * where the message id goes), the query parameters it takes, and whether it carries an
 * Idempotency-Key. The drift test compares this table with openapi/public.json.
 */
final class Operations
{
    private const LIST = ['status', 'query', 'createdFrom', 'createdTo', 'page', 'pageSize'];

    public const ALL = [
        'sendSms' => ['POST', '/v1/public/sms/send', [], true],
        'sendSmsBatch' => ['POST', '/v1/public/sms/batch', [], true],
        'listSms' => ['GET', '/v1/public/sms', [...self::LIST, 'flow'], false],
        'getSms' => ['GET', '/v1/public/sms/{id}', [], false],
        'getSmsTimeline' => ['GET', '/v1/public/sms/{id}/timeline', [], false],
        'cancelSms' => ['POST', '/v1/public/sms/{id}/cancel', [], false],
        'listSenderIds' => ['GET', '/v1/public/sms/sender-ids', ['page', 'pageSize'], false],
        'sendEmail' => ['POST', '/v1/public/emails/send', [], true],
        'sendEmailBatch' => ['POST', '/v1/public/emails/batch', [], true],
        'listEmails' => ['GET', '/v1/public/emails', self::LIST, false],
        'getEmail' => ['GET', '/v1/public/emails/{id}', [], false],
        'getEmailTimeline' => ['GET', '/v1/public/emails/{id}/timeline', [], false],
        'cancelEmail' => ['POST', '/v1/public/emails/{id}/cancel', [], false],
        'getEmailStats' => ['GET', '/v1/public/emails/stats', ['from', 'to'], false],
        'sendWhatsapp' => ['POST', '/v1/public/whatsapp/send', [], true],
        'sendWhatsappBatch' => ['POST', '/v1/public/whatsapp/batch', [], true],
        'listWhatsapp' => ['GET', '/v1/public/whatsapp', self::LIST, false],
        'getWhatsapp' => ['GET', '/v1/public/whatsapp/{id}', [], false],
        'getWhatsappTimeline' => ['GET', '/v1/public/whatsapp/{id}/timeline', [], false],
        'cancelWhatsapp' => ['POST', '/v1/public/whatsapp/{id}/cancel', [], false],
        'getApiKey' => ['GET', '/v1/public/key', [], false],
    ];
}
