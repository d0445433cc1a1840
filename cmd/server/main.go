// Command server is Steward: the web dashboard and its maintenance commands.
//
//	server [serve]   web UI and API (the default)
//	server migrate   apply database migrations and exit
//	server generate  write a synthetic tenant snapshot
//	server import    load a snapshot directory
//	server sync      sync the configured tenants now
//	server demo      everything at once, with a synthetic tenant
//	server emulate   serve a snapshot as Microsoft Graph and Power Platform
//	server whatif    explain one account's exposure
//
// main only wires things together; the work lives in internal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/gctune"
	"github.com/steward-dev/steward/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	gctune.Apply(os.Getenv)
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // the command line or configuration is wrong
)

// usageError marks an error as the caller's (exit code 2).
type usageError struct{ error }

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

// environment is what commands receive from the process.
type environment struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

var commands = []command{
	{"serve", "run the web UI and API (the default command)", serveCmd},
	{"migrate", "apply database migrations and exit", migrateCmd},
	{"emulate", "serve a snapshot as Graph and Power Platform APIs (no database needed)", emulateCmd},
	{"generate", "write a synthetic tenant snapshot (no database needed)", generateCmd},
	{"import", "load a snapshot directory into the database", importCmd},
	{"sync", "sync the configured tenants from Microsoft Graph and Power Platform now", syncCmd},
	{"whatif", "explain one account's MFA exposure, from a snapshot or stored data", whatifCmd},
	{"demo", "run everything with a synthetic tenant: emulator, sync, UI (no Azure account)", demoCmd},
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	env := &environment{getenv: getenv, stdout: stdout, stderr: stderr}
	name := "serve"
	if len(args) > 0 && (args[0] == "" || args[0][0] != '-') {
		name, args = args[0], args[1:]
	}
	if name == "help" || name == "-h" || name == "--help" {
		usage(stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		err := c.run(ctx, env, args)
		var uerr usageError
		switch {
		case err == nil:
			return exitOK
		case errors.As(err, &uerr):
			fmt.Fprintf(stderr, "server %s: %v\n", name, err)
			return exitUsage
		default:
			fmt.Fprintf(stderr, "server %s: %s\n", name, describe(err))
			return exitError
		}
	}
	fmt.Fprintf(stderr, "server: unknown command %q\n\n", name)
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: server [command] [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'server <command> -h' for a command's flags.")
}

// describe turns an error into what the person at the terminal needs: the
// user-facing message, plus how to get a database when there is none.
func describe(err error) string {
	if derr.Code(err) == derr.EINTERNAL {
		return err.Error()
	}
	msg := derr.Message(err)
	if derr.Code(err) == derr.EUNAVAILABLE {
		msg += "\nStart a database with `docker compose up -d db`, or install PostgreSQL 15+ locally," +
			"\nthen point DATABASE_URL at it (default " + store.RedactURL(defaultDatabaseURL) + ")."
	}
	return msg
}
