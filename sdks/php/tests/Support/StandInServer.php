<?php

declare(strict_types=1);

namespace Herald\Tests\Support;

/**
 * A real local HTTP server (php -S) for a script or router, started and stopped by a test; its
 * directory is the scripts' temporary directory too.
 */
final class StandInServer
{
    public readonly string $url;
    public readonly string $dir;
    /** @var resource */
    private $process;

    /**
     * @param string $router the router script
     * @param array<string, string> $env more environment for the server
     */
    public function __construct(string $router, array $env = [])
    {
        $this->dir = sys_get_temp_dir() . '/herald-standin-' . bin2hex(random_bytes(6));
        mkdir($this->dir);
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        $address = stream_socket_get_name($probe, false);
        fclose($probe);
        $this->url = 'http://' . $address;
        $this->process = proc_open(
            [PHP_BINARY, '-S', $address, $router],
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', "$this->dir/server.out", 'w'], 2 => ['file', "$this->dir/server.err", 'w']],
            $pipes,
            $this->dir,
            $env + ['STANDIN_DIR' => $this->dir, 'TMPDIR' => $this->dir, 'PHP_CLI_SERVER_WORKERS' => '4'] + getenv(),
        );
        $deadline = microtime(true) + 10;
        while (!@fsockopen('127.0.0.1', (int) substr($address, strrpos($address, ':') + 1), $errno, $error, 0.2)) {
            if (microtime(true) > $deadline) {
                throw new \RuntimeException("the stand-in server did not start: " . file_get_contents("$this->dir/server.err"));
            }
            usleep(50_000);
        }
    }

    /**
     * A server answering with these responses in turn, the last repeating: each
     * ['status' => int, 'headers' => [...], 'body' => array|string, 'delayMs' => int].
     *
     * @param list<array<string, mixed>> $responses
     */
    public static function answering(array $responses): self
    {
        $server = new self(__DIR__ . '/router.php');
        file_put_contents("$server->dir/responses.json", json_encode($responses));
        return $server;
    }

    /**
     * What the server saw: method, path, query, headers (lower-case names), body.
     *
     * @return list<array<string, mixed>>
     */
    public function requests(): array
    {
        if (!is_file("$this->dir/requests.jsonl")) {
            return [];
        }
        return array_map(
            static fn (string $line): array => json_decode($line, true),
            file("$this->dir/requests.jsonl", FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES),
        );
    }

    /** What the server's scripts wrote to stderr, its request log lines excluded. */
    public function stderr(): string
    {
        $lines = file("$this->dir/server.err", FILE_IGNORE_NEW_LINES) ?: [];
        return implode("\n", array_filter($lines, static fn (string $l): bool => !preg_match('/^\[.*\] (127\.0\.0\.1:\d+ |PHP )/', $l)));
    }

    public function stop(): void
    {
        proc_terminate($this->process);
        proc_close($this->process);
        $files = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator($this->dir, \FilesystemIterator::SKIP_DOTS), \RecursiveIteratorIterator::CHILD_FIRST);
        foreach ($files as $file) {
            $file->isDir() ? rmdir($file->getPathname()) : unlink($file->getPathname());
        }
        rmdir($this->dir);
    }
}
