package main

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/statusd/statusd/data"
)

// id checks the required id of the item at path and that it was not used
// before in the same namespace (seen maps ids to their lines).
func (c *checker) id(path string, raw *string, seen map[string]int) (string, bool) {
	if raw == nil {
		c.missing(path, "id")
		return "", false
	}
	p := path + ".id"
	if err := data.ValidateID(p, *raw); err != nil {
		c.invalid(p, err)
		return "", false
	}
	if l, dup := seen[*raw]; dup {
		c.add(p, "%q is used twice (first at line %d)", *raw, l)
		return "", false
	}
	seen[*raw] = c.line(p)
	return *raw, true
}

// text checks an optional or required text field of the item at path.
func (c *checker) text(path, key string, raw *string, maxLen int, required bool) string {
	if raw == nil {
		if required {
			c.missing(path, key)
		}
		return ""
	}
	p := path + "." + key
	if err := data.ValidateText(p, *raw, maxLen, required, !required); err != nil {
		c.invalid(p, err)
		return ""
	}
	return *raw
}

func quoteOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return strconv.Quote(s)
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// httpURL checks an absolute http or https URL. For the page URL (base) a
// query or fragment is refused and a trailing slash trimmed.
func (c *checker) httpURL(path, s string, base bool) (string, bool) {
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "":
		c.add(path, "%q is not an absolute URL such as https://status.example.com", s)
	case u.Scheme != "http" && u.Scheme != "https":
		c.add(path, "%q must start with http:// or https://", s)
	case u.Host == "" || u.Hostname() == "":
		c.add(path, "%q has no host name", s)
	case u.User != nil:
		c.add(path, "%q must not contain a user name or password", s)
	case base && (u.RawQuery != "" || u.ForceQuery || u.Fragment != ""):
		c.add(path, "%q must not have a query (?…) or fragment (#…)", s)
	default:
		if base {
			return strings.TrimRight(s, "/"), true
		}
		return s, true
	}
	return "", false
}

// durationRange describes the allowed values of a duration field.
type durationRange struct {
	def, min, max time.Duration // max 0: no upper bound
	minExclusive  bool          // min itself is not allowed
	seconds       bool          // a whole number of seconds
	example       string
}

const day = 24 * time.Hour

// duration parses the duration at path, or returns the default when it is
// absent. On a problem it reports it and returns the default.
func (c *checker) duration(path string, raw *string, r durationRange) time.Duration {
	if raw == nil {
		return r.def
	}
	ex := r.example
	if ex == "" {
		ex = "30s, 5m"
	}
	d, err := parseDuration(*raw)
	switch {
	case errors.Is(err, errNegative):
		c.add(path, "%q must not be negative", *raw)
	case err != nil:
		c.add(path, "%q is not a duration (e.g. %s)", *raw, ex)
	case r.minExclusive && d <= r.min:
		c.add(path, "%q must be more than %s", *raw, formatDuration(r.min))
	case d < r.min:
		c.add(path, "%q must be at least %s", *raw, formatDuration(r.min))
	case r.max > 0 && d > r.max:
		if r.minExclusive {
			c.add(path, "%q must be at most %s", *raw, formatDuration(r.max))
		} else {
			c.add(path, "%q must be between %s and %s", *raw, formatDuration(r.min), formatDuration(r.max))
		}
	case r.seconds && d%time.Second != 0:
		c.add(path, "%q must be a whole number of seconds", *raw)
	default:
		return d
	}
	return r.def
}

var (
	daysPattern = regexp.MustCompile(`^([0-9]+)d(.*)$`)
	errNegative = errors.New("negative duration")
)

// parseDuration is time.ParseDuration that also accepts a leading number of
// days ("30d", "1d12h"). Negative durations are refused.
func parseDuration(s string) (time.Duration, error) {
	var d time.Duration
	if m := daysPattern.FindStringSubmatch(s); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > int64(math.MaxInt64/int64(day)) {
			return 0, errors.New("too many days")
		}
		d = time.Duration(n) * day
		if s = m[2]; s == "" {
			return d, nil
		}
	}
	rest, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if rest < 0 || (rest == 0 && strings.HasPrefix(s, "-")) {
		return 0, errNegative
	}
	if rest > math.MaxInt64-d {
		return 0, errors.New("duration too long")
	}
	return d + rest, nil
}

// formatDuration writes d the way a person would in the file: 30d, 1h, 5m, 250ms.
func formatDuration(d time.Duration) string {
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// intRange checks an optional integer, returning def when it is absent or wrong.
func (c *checker) intRange(path string, raw *int, def, lo, hi int, unit string) int {
	if raw == nil {
		return def
	}
	if *raw < lo || *raw > hi {
		c.add(path, "%d must be between %d and %d%s", *raw, lo, hi, unit)
		return def
	}
	return *raw
}

// checkHostPort checks "host:port" with a numeric port; a listen address may
// leave the host empty.
func checkHostPort(s string, listen bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return errors.New(ae.Err)
		}
		return err
	}
	if host == "" && !listen {
		return errors.New("missing host")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (!listen && n == 0) {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

var hostnamePattern = regexp.MustCompile(`^(?i:[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.(?i:[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?))*\.?$`)

var envReference = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// secret resolves a secret field: the environment variable override when it
// is set, else ${NAME} from the environment, else the value as written.
func (c *checker) secret(path string, raw *string, override string) string {
	if v := c.getenv(override); v != "" {
		return v
	}
	if raw == nil {
		return ""
	}
	if m := envReference.FindStringSubmatch(*raw); m != nil {
		v := c.getenv(m[1])
		if v == "" {
			c.add(path, "environment variable %s is empty or not set", m[1])
		}
		return v
	}
	if strings.Contains(*raw, "${") {
		// The value is not repeated: it may be a secret.
		c.add(path, "mixes text with ${…}; only a whole value such as ${%s} is read from the environment", strings.TrimPrefix(override, "STATUSD_"))
		return ""
	}
	return *raw
}
