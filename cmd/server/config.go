package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
)

// Config is everything the server reads from its environment. Each field comes
// from an environment variable and may be overridden by a flag of the same
// meaning; Validate checks it before anything starts.
type Config struct {
	DatabaseURL string // DATABASE_URL, -database-url
	Addr        string // STEWARD_ADDR, -addr
	LogLevel    string // STEWARD_LOG_LEVEL, -log-level: debug | info | warn | error
	LogFormat   string // STEWARD_LOG_FORMAT, -log-format: text | json
}

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/steward?sslmode=disable"

// configFromEnv fills a Config from the environment, with defaults.
func configFromEnv(getenv func(string) string) Config {
	or := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	return Config{
		DatabaseURL: or("DATABASE_URL", defaultDatabaseURL),
		Addr:        or("STEWARD_ADDR", "127.0.0.1:8080"),
		LogLevel:    or("STEWARD_LOG_LEVEL", "info"),
		LogFormat:   or("STEWARD_LOG_FORMAT", "text"),
	}
}

// bindFlags lets a command's flags override the environment. withAddr is false
// for commands that do not listen.
func (c *Config) bindFlags(fs *flag.FlagSet, withAddr bool) {
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL (env DATABASE_URL)")
	if withAddr {
		fs.StringVar(&c.Addr, "addr", c.Addr, "listen address host:port (env STEWARD_ADDR)")
	}
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (env STEWARD_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json (env STEWARD_LOG_FORMAT)")
}

// Validate reports every problem at once, each naming the setting to change.
func (c Config) Validate() error {
	var problems []string
	if c.DatabaseURL == "" {
		problems = append(problems, "DATABASE_URL is empty")
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		problems = append(problems, fmt.Sprintf("STEWARD_ADDR %q is not host:port (e.g. 127.0.0.1:8080)", c.Addr))
	}
	if _, err := c.slogLevel(); err != nil {
		problems = append(problems, err.Error())
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, fmt.Sprintf("STEWARD_LOG_FORMAT %q must be text or json", c.LogFormat))
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid configuration:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

func (c Config) slogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("STEWARD_LOG_LEVEL %q must be debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// logger builds the process logger. Call it only after Validate.
func (c Config) logger(w io.Writer) *slog.Logger {
	level, _ := c.slogLevel()
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
