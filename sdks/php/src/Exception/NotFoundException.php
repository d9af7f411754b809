<?php

declare(strict_types=1);

namespace Herald\Exception;

/** 404 NOT_FOUND, also for another organization's resources. */
final class NotFoundException extends HeraldException
{
}
