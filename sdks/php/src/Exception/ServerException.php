<?php

declare(strict_types=1);

namespace Herald\Exception;

/** 5xx, after the SDK's retries. */
final class ServerException extends HeraldException
{
}
