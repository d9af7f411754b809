<?php

declare(strict_types=1);

namespace Herald\Exception;

use Herald\Model\FieldError;

/**
 * An error answer of the API ({"error": {"code", "message", "details"}}), or, as a
 * ConnectionException, a server that could not be reached. Catch a subclass to handle one kind.
 */
class HeraldException extends \RuntimeException
{
    /**
     * @param list<FieldError> $details
     */
    public function __construct(
        string $message,
        private readonly int $statusCode = 0,
        private readonly ?string $errorCode = null,
        private readonly array $details = [],
        private readonly ?string $requestId = null,
        ?\Throwable $previous = null,
    ) {
        parent::__construct($message, $statusCode, $previous);
    }

    /**
     * The exception of an error answer, by its status: ValidationException for a 422, and so on.
     *
     * @param list<FieldError> $details
     */
    public static function fromResponse(int $status, ?string $code, string $message, array $details, ?string $requestId): self
    {
        $class = match (true) {
            $status === 400 => BadRequestException::class,
            $status === 401 => AuthenticationException::class,
            $status === 403 => PermissionException::class,
            $status === 404 => NotFoundException::class,
            $status === 409 => ConflictException::class,
            $status === 422 => ValidationException::class,
            $status === 429 => RateLimitException::class,
            $status >= 500 => ServerException::class,
            default => self::class,
        };
        $text = sprintf('%d %s: %s', $status, $code ?? 'HTTP_ERROR', $message);
        foreach ($details as $detail) {
            $text .= sprintf('; %s %s', $detail->field, $detail->message);
        }
        if ($requestId !== null) {
            $text .= sprintf(' (request %s)', $requestId);
        }
        return new $class($text, $status, $code, $details, $requestId);
    }

    /** The HTTP status of the answer; 0 when there was none. */
    public function getStatusCode(): int
    {
        return $this->statusCode;
    }

    /** The API's UPPER_SNAKE code (VALIDATION_ERROR, …); null when the answer was not the API's error shape. */
    public function getErrorCode(): ?string
    {
        return $this->errorCode;
    }

    /**
     * One entry per invalid field, when the error is about fields.
     *
     * @return list<FieldError>
     */
    public function getDetails(): array
    {
        return $this->details;
    }

    /** The answer's X-Request-Id, to quote when reporting a problem. */
    public function getRequestId(): ?string
    {
        return $this->requestId;
    }
}
