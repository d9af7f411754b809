<?php

declare(strict_types=1);

namespace Herald\Exception;

/** 400 INVALID_JSON: the body is not JSON, or not an object where one is expected. */
final class BadRequestException extends HeraldException
{
}
