package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/store"
	"github.com/steward-dev/steward/internal/sync"
)

// Config is everything the server reads from its environment. Each field comes
// from an environment variable and may be overridden by a flag of the same
// meaning; Validate checks it before anything starts.
type Config struct {
	DatabaseURL string // DATABASE_URL, -database-url
	Addr        string // STEWARD_ADDR, -addr: loopback only until sign-in exists (listen.go)
	LogLevel    string // STEWARD_LOG_LEVEL, -log-level: debug | info | warn | error
	LogFormat   string // STEWARD_LOG_FORMAT, -log-format: text | json
	Sync        SyncConfig
	Exposure    ExposureConfig

	// problems found while reading the environment, reported by Validate.
	problems []string
}

// SyncConfig is how Steward reaches Microsoft Graph and Power Platform and
// how often it syncs. Credentials themselves are read by the Graph package
// from the usual AZURE_* variables and never stored here.
type SyncConfig struct {
	Tenants              []string      // STEWARD_TENANTS (comma-separated), default AZURE_TENANT_ID
	Interval             time.Duration // STEWARD_SYNC_INTERVAL: scheduled sync period in serve; 0 turns it off
	FullEvery            time.Duration // STEWARD_FULL_SYNC_EVERY: a full run at least this often
	GraphURL             string        // STEWARD_GRAPH_URL: Graph root (sovereign clouds, the emulator)
	BAPURL               string        // STEWARD_BAP_URL
	FlowURL              string        // STEWARD_FLOW_URL
	PowerAppsURL         string        // STEWARD_POWERAPPS_URL
	PowerPlatform        bool          // STEWARD_POWERPLATFORM: false skips the Power Platform source
	PowerPlatformInDelta bool          // STEWARD_POWERPLATFORM_IN_DELTA: delta runs list flows and connections too
	CAFile               string        // STEWARD_CA_FILE: extra CA certificates (PEM) to trust for outbound HTTPS
	SignInDays           int           // STEWARD_SIGNIN_DAYS: sign-in log window of a full run
	MaxDeleteFraction    float64       // STEWARD_SYNC_MAX_DELETE_FRACTION: mass-deletion breaker threshold
	MinDeletes           int           // STEWARD_SYNC_MIN_DELETES: fewer deletions never trip the breaker
	// STEWARD_GRAPH_PACING "RU,CA,SIGNINS": the client-side budget the Graph
	// source keeps to — resource units per 10 s, Conditional Access requests
	// per second, sign-in log requests per 10 s. Default: Graph's documented
	// limits for a tenant over 500 users, "8000,1,5".
	PacingRU      int
	PacingCA      float64
	PacingSignIns int
}

// ExposureConfig holds the evaluation's thresholds (EXPOSURE.md §7, §8).
type ExposureConfig struct {
	DormantDays        int      // STEWARD_DORMANT_DAYS: no successful sign-in for this long is DORMANT (90)
	SecretMaxDays      int      // STEWARD_SECRET_MAX_DAYS: longer-lived client secrets are SP_SECRET_LONG_LIVED (180)
	SecretExpiringDays int      // STEWARD_SECRET_EXPIRING_DAYS: secrets ending this soon are SP_SECRET_EXPIRING (30)
	NamePatterns       []string // STEWARD_SA_NAME_PATTERNS: comma-separated service-account name patterns
	ServiceGroups      []string // STEWARD_SA_GROUPS: comma-separated groups (ids or names) of service accounts
}

// evaluation returns the exposure configuration evaluated at now.
func (c ExposureConfig) evaluation(now time.Time) exposure.Config {
	e := exposure.DefaultConfig(now)
	e.DormantDays = c.DormantDays
	e.SecretMaxLifetime = time.Duration(c.SecretMaxDays) * 24 * time.Hour
	e.SecretExpiringWithin = time.Duration(c.SecretExpiringDays) * 24 * time.Hour
	if len(c.NamePatterns) > 0 {
		e.NamePatterns = c.NamePatterns
	}
	e.ServiceAccountGroups = c.ServiceGroups
	return e
}

// commaList splits a comma-separated setting, dropping empty items.
func commaList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// runnerOptions turns the configuration into the runner's: every run that
// applies data is followed by an evaluation of the tenant.
func (c Config) runnerOptions(db *store.DB, log *slog.Logger) sync.Options {
	return sync.Options{
		Apply:        &store.ApplyOptions{MaxDeleteFraction: c.Sync.MaxDeleteFraction, MinDeletes: c.Sync.MinDeletes},
		SignInWindow: time.Duration(c.Sync.SignInDays) * 24 * time.Hour,
		Evaluate:     evaluator(db, c.Exposure, log),
	}
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
	c := Config{
		DatabaseURL: or("DATABASE_URL", defaultDatabaseURL),
		Addr:        or("STEWARD_ADDR", "127.0.0.1:8080"),
		LogLevel:    or("STEWARD_LOG_LEVEL", "info"),
		LogFormat:   or("STEWARD_LOG_FORMAT", "text"),
	}
	ec := &c.Exposure
	ec.DormantDays = c.integer("STEWARD_DORMANT_DAYS", or("STEWARD_DORMANT_DAYS", "90"), 1, 3650)
	ec.SecretMaxDays = c.integer("STEWARD_SECRET_MAX_DAYS", or("STEWARD_SECRET_MAX_DAYS", "180"), 1, 36500)
	ec.SecretExpiringDays = c.integer("STEWARD_SECRET_EXPIRING_DAYS", or("STEWARD_SECRET_EXPIRING_DAYS", "30"), 1, 3650)
	ec.NamePatterns = commaList(getenv("STEWARD_SA_NAME_PATTERNS"))
	ec.ServiceGroups = commaList(getenv("STEWARD_SA_GROUPS"))
	sc := &c.Sync
	sc.Tenants = commaList(or("STEWARD_TENANTS", getenv("AZURE_TENANT_ID")))
	sc.Interval = c.duration("STEWARD_SYNC_INTERVAL", or("STEWARD_SYNC_INTERVAL", "4h"))
	sc.FullEvery = c.duration("STEWARD_FULL_SYNC_EVERY", or("STEWARD_FULL_SYNC_EVERY", "24h"))
	sc.GraphURL = or("STEWARD_GRAPH_URL", "https://graph.microsoft.com")
	sc.BAPURL = or("STEWARD_BAP_URL", "https://api.bap.microsoft.com")
	sc.FlowURL = or("STEWARD_FLOW_URL", "https://api.flow.microsoft.com")
	sc.PowerAppsURL = or("STEWARD_POWERAPPS_URL", "https://api.powerapps.com")
	sc.PowerPlatform = c.boolean("STEWARD_POWERPLATFORM", or("STEWARD_POWERPLATFORM", "true"))
	sc.PowerPlatformInDelta = c.boolean("STEWARD_POWERPLATFORM_IN_DELTA", or("STEWARD_POWERPLATFORM_IN_DELTA", "false"))
	sc.CAFile = getenv("STEWARD_CA_FILE")
	sc.SignInDays = c.integer("STEWARD_SIGNIN_DAYS", or("STEWARD_SIGNIN_DAYS", "30"), 1, 30)
	sc.MinDeletes = c.integer("STEWARD_SYNC_MIN_DELETES", or("STEWARD_SYNC_MIN_DELETES", "10"), 0, 1<<30)
	f, err := strconv.ParseFloat(or("STEWARD_SYNC_MAX_DELETE_FRACTION", "0.2"), 64)
	if err != nil || f <= 0 || f > 1 {
		c.problems = append(c.problems, "STEWARD_SYNC_MAX_DELETE_FRACTION must be a number above 0 and at most 1 (e.g. 0.2)")
	}
	sc.MaxDeleteFraction = f
	pacing := strings.Split(or("STEWARD_GRAPH_PACING", "8000,1,5"), ",")
	if len(pacing) != 3 {
		c.problems = append(c.problems, `STEWARD_GRAPH_PACING must be "RU per 10 s,CA requests per s,sign-in requests per 10 s", e.g. 8000,1,5`)
	} else {
		sc.PacingRU = c.integer("STEWARD_GRAPH_PACING (resource units)", strings.TrimSpace(pacing[0]), 1, 1<<30)
		ca, err := strconv.ParseFloat(strings.TrimSpace(pacing[1]), 64)
		if err != nil || ca <= 0 {
			c.problems = append(c.problems, "STEWARD_GRAPH_PACING: Conditional Access requests per second must be a positive number")
		}
		sc.PacingCA = ca
		sc.PacingSignIns = c.integer("STEWARD_GRAPH_PACING (sign-in requests)", strings.TrimSpace(pacing[2]), 1, 1<<30)
	}
	return c
}

func (c *Config) duration(name, v string) time.Duration {
	if v == "0" || strings.EqualFold(v, "off") {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		c.problems = append(c.problems, fmt.Sprintf("%s %q is not a duration (e.g. 4h, 30m, or off)", name, v))
	}
	return d
}

func (c *Config) boolean(name, v string) bool {
	b, err := strconv.ParseBool(v)
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s %q must be true or false", name, v))
	}
	return b
}

func (c *Config) integer(name, v string, lo, hi int) int {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		c.problems = append(c.problems, fmt.Sprintf("%s %q must be a whole number from %d to %d", name, v, lo, hi))
	}
	return n
}

// newCommandFlags starts a command's flag set: the configuration from the
// environment, overridable by the common flags. Call parse once the command
// has added its own flags.
func newCommandFlags(name string, getenv func(string) string, stderr io.Writer, withAddr bool) (*flag.FlagSet, *Config) {
	cfg := configFromEnv(getenv)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.bindFlags(fs, withAddr)
	return fs, &cfg
}

// parse parses a command's arguments and validates the configuration; both
// kinds of mistake are the caller's (exit code 2).
func (c *Config) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if err := c.Validate(); err != nil {
		return usageError{err}
	}
	return nil
}

// bindFlags lets a command's flags override the environment. withAddr is false
// for commands that do not listen.
func (c *Config) bindFlags(fs *flag.FlagSet, withAddr bool) {
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "PostgreSQL URL (env DATABASE_URL)")
	if withAddr {
		fs.StringVar(&c.Addr, "addr", c.Addr, "listen address host:port, loopback only until sign-in exists (env STEWARD_ADDR)")
	}
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error (env STEWARD_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json (env STEWARD_LOG_FORMAT)")
}

// Validate reports every problem at once, each naming the setting to change.
func (c Config) Validate() error {
	problems := append([]string{}, c.problems...)
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
