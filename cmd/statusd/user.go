package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/statusd/statusd/data"
	"github.com/statusd/statusd/server"
)

const userUsage = `usage: statusd user COMMAND [--config FILE | --db PATH] ...

  add --email EMAIL --role admin|comms|viewer [--password-stdin]
                          create an account; the password is asked for twice on a
                          terminal, or read as one line from standard input
  list                    list accounts
  disable EMAIL           stop an account signing in and end its sessions
  enable EMAIL            let a disabled account sign in again
  role EMAIL ROLE         change an account's role
  passwd EMAIL [--password-stdin]
                          set a new password and end the account's sessions

The last active admin can be neither disabled nor demoted.
`

// runUser manages admin accounts from the command line: the way to create
// the first admin, and to recover when every admin is locked out. It works
// on the database file directly (creating and migrating it if needed), so a
// running statusd need not be stopped.
func runUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, userUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd := args[0]
	fs := flag.NewFlagSet("user "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, userUsage) }
	configPath := fs.String("config", envOr(getenv, "STATUSD_CONFIG", "config.yaml"), "configuration `file` (STATUSD_CONFIG)")
	dbPath := fs.String("db", getenv("STATUSD_DB"), "SQLite database `path` (STATUSD_DB)")
	actor := fs.String("actor", "cli:"+envOr(getenv, "USER", "unknown"), "who, recorded in the audit log")
	var email, role *string
	var pwStdin *bool
	nargs := 0
	switch cmd {
	case "add":
		email = fs.String("email", "", "the account's email `address`")
		role = fs.String("role", "", "admin, comms or viewer")
		pwStdin = fs.Bool("password-stdin", false, "read the password from standard input")
	case "passwd":
		pwStdin = fs.Bool("password-stdin", false, "read the password from standard input")
		nargs = 1
	case "list":
	case "disable", "enable":
		nargs = 1
	case "role":
		nargs = 2
	default:
		fmt.Fprintf(stderr, "user: unknown command %q\n\n%s", cmd, userUsage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != nargs {
		fmt.Fprintf(stderr, "user %s: want %d argument(s), got %d\n\n%s", cmd, nargs, fs.NArg(), userUsage)
		return 2
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "user %s: %s\n", cmd, fmt.Sprintf(format, a...))
		return code
	}
	// Check what can be checked before touching the database or asking for
	// a password.
	var newRole data.Role
	switch cmd {
	case "add":
		if _, err := data.NormalizeEmail("email", *email); err != nil {
			return fail(2, "%v", err)
		}
		r, err := data.ParseRole(*role)
		if err != nil {
			return fail(2, "%v (give --role)", err)
		}
		newRole = r
	case "role":
		r, err := data.ParseRole(fs.Arg(1))
		if err != nil {
			return fail(2, "%v", err)
		}
		newRole = r
	}
	var hash string
	if cmd == "add" || cmd == "passwd" {
		pw, err := readPassword(stdin, stderr, *pwStdin)
		if err != nil {
			return fail(1, "%v", err)
		}
		if err := server.ValidatePassword(pw); err != nil {
			return fail(1, "%v", err)
		}
		if hash, err = server.HashPassword(pw); err != nil {
			return fail(1, "%v", err)
		}
	}

	path, code := databasePath("user "+cmd, *dbPath, *configPath, stderr, getenv)
	if code != 0 {
		return code
	}
	s, err := data.Open(ctx, path)
	if err != nil {
		return fail(1, "%v", err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return fail(1, "%v", err)
	}
	report := func(err error, target string) int {
		var inv *data.InvalidError
		switch {
		case errors.Is(err, data.ErrNotFound):
			return fail(1, "no account %s", target)
		case errors.Is(err, data.ErrConflict):
			return fail(1, "%s already has an account", target)
		case errors.As(err, &inv):
			return fail(1, "%v", err)
		case err != nil:
			return fail(1, "%v", err)
		}
		return 0
	}
	switch cmd {
	case "add":
		u, err := s.CreateUser(ctx, data.NewUser{Email: *email, Role: newRole, PasswordHash: hash, Actor: *actor})
		if code := report(err, *email); code != 0 {
			return code
		}
		fmt.Fprintf(stdout, "added %s (%s)\n", u.Email, u.Role)
	case "list":
		users, err := s.Users(ctx)
		if err != nil {
			return fail(1, "%v", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tROLE\tSTATE\tLAST SIGN-IN")
		for _, u := range users {
			state, last := "active", "never"
			if u.Disabled() {
				state = "disabled"
			}
			if !u.LastLoginAt.IsZero() {
				last = u.LastLoginAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Email, u.Role, state, last)
		}
		if err := tw.Flush(); err != nil {
			return fail(1, "%v", err)
		}
	case "disable", "enable":
		disabled := cmd == "disable"
		u, err := s.UpdateUser(ctx, fs.Arg(0), data.UserChange{Disabled: &disabled, Actor: *actor})
		if code := report(err, fs.Arg(0)); code != 0 {
			return code
		}
		fmt.Fprintf(stdout, "%sd %s\n", cmd, u.Email)
	case "role":
		u, err := s.UpdateUser(ctx, fs.Arg(0), data.UserChange{Role: &newRole, Actor: *actor})
		if code := report(err, fs.Arg(0)); code != 0 {
			return code
		}
		fmt.Fprintf(stdout, "%s is now %s\n", u.Email, u.Role)
	case "passwd":
		u, err := s.UpdateUser(ctx, fs.Arg(0), data.UserChange{PasswordHash: &hash, Actor: *actor})
		if code := report(err, fs.Arg(0)); code != 0 {
			return code
		}
		fmt.Fprintf(stdout, "set a new password for %s and ended their sessions\n", u.Email)
	}
	return 0
}

// readPassword asks for a password twice on a terminal, without echo, or
// reads one line from stdin when it is not a terminal or fromStdin is set.
func readPassword(stdin io.Reader, stderr io.Writer, fromStdin bool) (string, error) {
	f, isFile := stdin.(*os.File)
	if !fromStdin && isFile && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password (at least 12 characters): ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, 64<<10), 4096).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
