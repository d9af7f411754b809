<?php

declare(strict_types=1);

namespace Herald\Exception;

/** The server could not be reached or did not answer in time, after the SDK's retries (status 0). */
final class ConnectionException extends HeraldException
{
}
