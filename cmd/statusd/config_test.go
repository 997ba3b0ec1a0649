package main

import (
	"bytes"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/statusd/statusd/data"
)

var update = flag.Bool("update", false, "rewrite the .want files of testdata/bad")

// testEnv is the environment the fixtures are loaded with.
var testEnv = map[string]string{"SMTP_PASSWORD": "smtp-secret", "REDIS_PASSWORD": "redis-secret", "PROBE_KEY": "probe-key", "PROBE_PASSWORD": "probe-password",
	"PUSH_TOKEN": "push-secret", "LATENCY_TOKEN": "latency-secret"}

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfigGood(t *testing.T) {
	files, err := filepath.Glob("testdata/good/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no good fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			cfg, err := LoadConfig(file, envFunc(testEnv))
			if err != nil {
				t.Fatalf("LoadConfig(%q) = %v", file, err)
			}
			if len(cfg.Journeys) == 0 {
				t.Errorf("LoadConfig(%q) has no journeys", file)
			}
			if err := cfg.Catalog().Validate(); err != nil {
				t.Errorf("LoadConfig(%q).Catalog().Validate() = %v", file, err)
			}
			if cfg.Page.Location == nil {
				t.Errorf("LoadConfig(%q): Page.Location is nil", file)
			}
		})
	}
}

func TestParseConfigBad(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 20 {
		t.Fatalf("want at least 20 bad fixtures, have %d (%v)", len(files), err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseConfig("config.yaml", src, envFunc(nil))
			if err == nil {
				t.Fatalf("ParseConfig(%q) = %+v, nil; want an error", file, cfg)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseConfig(%q) error is %T; want *ConfigError", file, err)
			}
			for _, p := range ce.Problems {
				if p.File != "config.yaml" || p.Line < 1 || p.Reason == "" {
					t.Errorf("ParseConfig(%q): problem %+v; want file config.yaml, a line and a reason", file, p)
				}
			}
			got := err.Error() + "\n"
			wantFile := strings.TrimSuffix(file, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it, then review it)", err)
			}
			if got != string(want) {
				t.Errorf("ParseConfig(%q) errors:\n%s\nwant:\n%s(rerun with -update and review the diff if the change is intended)", file, got, want)
			}
		})
	}
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := LoadConfig("testdata/good/minimal.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Page: PageConfig{
			ID:       data.DeriveID("Acme"),
			Name:     "Acme",
			URL:      "https://status.acme.example",
			TimeZone: "UTC",
			Location: time.UTC,
			Language: "en",
		},
		Server: ServerConfig{
			Listen:          ":8080",
			ReadTimeout:     10 * time.Second,
			WriteTimeout:    10 * time.Second,
			IdleTimeout:     60 * time.Second,
			BodyLimit:       1 << 20,
			ShutdownTimeout: 15 * time.Second,
			DrainDelay:      5 * time.Second,
		},
		Database: DatabaseConfig{Path: "statusd.db"},
		Snapshot: SnapshotConfig{Debounce: 250 * time.Millisecond, Refresh: time.Minute, StaleAfter: 5 * time.Minute, HistoryDays: 90},
		Cache:    CacheConfig{MaxAge: 30 * time.Second, StaleWhileRevalidate: 60 * time.Second, StaleIfError: 24 * time.Hour, CDNMaxAge: 60 * time.Second},
		Journeys: []JourneyConfig{{
			ID: "sign-in", Name: "Sign in",
			Components: []ComponentConfig{{ID: "auth-api", Name: "Authentication API", Showcase: true}},
		}},
		Admin:   AdminConfig{Enabled: true, SessionIdle: time.Hour, SessionMax: 12 * time.Hour},
		Probing: ProbingConfig{Region: "local", Concurrency: 256, MinInterval: 5 * time.Second, ResultsRetention: 7 * 24 * time.Hour, MajorOutageShare: 1},
		Notifier: NotifierConfig{
			Webhooks:         WebhookConfig{Timeout: 10 * time.Second, Workers: 64, PerHost: 16},
			EmailWorkers:     8,
			ComponentChanges: ComponentChangesConfig{Email: "none", Webhook: "all"},
			ConfirmTTL:       48 * time.Hour,
			DisableAfter:     5 * 24 * time.Hour,
			WarnAfter:        24 * time.Hour,
			PerIP:            20,
			PerAddress:       3,
		},
		Maintenance: MaintenanceConfig{Reminders: []time.Duration{24 * time.Hour, time.Hour}},
	}
	cfg.getenv = nil // a func is never deeply equal to another
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("LoadConfig(minimal.yaml) =\n%+v\nwant\n%+v", cfg, want)
	}
	if id := cfg.Page.ID; len(id) != 12 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Errorf("derived page id = %q; want 12 lower-case letters and digits", id)
	}
}

func TestParseConfigFull(t *testing.T) {
	cfg, err := LoadConfig("testdata/good/full.yaml", envFunc(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"page id", cfg.Page.ID, "acme"},
		{"url", cfg.Page.URL, "https://status.acme.example/status"},
		{"time zone", cfg.Page.Location.String(), "America/New_York"},
		{"accent colour", cfg.Page.Branding.AccentColor, "#0b57d0"},
		{"links", len(cfg.Page.Branding.Links), 2},
		{"listen", cfg.Server.Listen, "127.0.0.1:8080"},
		{"idle timeout", cfg.Server.IdleTimeout, 2 * time.Minute},
		{"body limit", cfg.Server.BodyLimit, 2 << 20},
		{"drain delay", cfg.Server.DrainDelay, time.Duration(0)},
		{"ops listen", cfg.Server.OpsListen, "127.0.0.1:9090"},
		{"debounce", cfg.Snapshot.Debounce, time.Duration(0)},
		{"stale if error", cfg.Cache.StaleIfError, 7 * 24 * time.Hour},
		{"max age", cfg.Cache.MaxAge, time.Duration(0)},
		{"description", cfg.Journeys[0].Description, "Logging in to the web\nand mobile apps.\n"},
		{"group children", len(cfg.Journeys[0].Components[1].Components), 2},
		{"group showcase", cfg.Journeys[0].Components[1].Showcase, false},
		{"child showcase default", cfg.Journeys[0].Components[1].Components[0].Showcase, true},
		{"child only if degraded", cfg.Journeys[0].Components[1].Components[1].OnlyShowIfDegraded, true},
		{"probe timeout", cfg.Probes[1].Timeout, 4999 * time.Millisecond},
		{"probe interval default", cfg.Probes[2].Interval, 30 * time.Second},
		{"slo window default", cfg.SLOs[0].Window, 30 * 24 * time.Hour},
		{"slo window days", cfg.SLOs[1].Window, 36 * time.Hour},
		{"slo objective", cfg.SLOs[0].Objective, 99.9},
		{"smtp password", cfg.Notifier.Email.Password, "smtp-secret"},
		{"smtp port", cfg.Notifier.Email.Port, 465},
		{"redis password", cfg.Redis.Password, "redis-secret"},
		{"redis db", cfg.Redis.DB, 3},
		{"component count", cfg.componentCount(), 5},
		{"admin listen", cfg.Admin.Listen, "127.0.0.1:8082"},
		{"admin session idle", cfg.Admin.SessionIdle, 30 * time.Minute},
		{"admin session max", cfg.Admin.SessionMax, 7 * 24 * time.Hour},
		{"admin proxy header", cfg.Admin.ProxyHeader, "X-Forwarded-For"},
		{"admin trusted proxies", cfg.Admin.TrustedProxies, []string{"10.0.0.0/8", "192.0.2.1"}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %#v; want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestExampleConfig(t *testing.T) {
	cfg, err := LoadConfig("../../config.example.yaml", envFunc(nil))
	if err != nil {
		t.Fatalf("LoadConfig(config.example.yaml) with an empty environment = %v", err)
	}
	if n := len(cfg.Journeys); n != 4 {
		t.Errorf("config.example.yaml has %d journeys; want 4", n)
	}
	if cfg.Server.Listen != ":8080" || cfg.Database.Path != "statusd.db" {
		t.Errorf("config.example.yaml: listen %q, database %q; want \":8080\", \"statusd.db\"", cfg.Server.Listen, cfg.Database.Path)
	}
	groups := 0
	for _, j := range cfg.Journeys {
		for _, c := range j.Components {
			if c.IsGroup() {
				groups++
			}
		}
	}
	if groups == 0 {
		t.Error("config.example.yaml has no group of components")
	}
	if err := cfg.Catalog().Validate(); err != nil {
		t.Errorf("config.example.yaml: Catalog().Validate() = %v", err)
	}
}

func TestCatalog(t *testing.T) {
	src := []byte(`
page: {name: Acme, url: "https://status.acme.example"}
journeys:
  - id: sign-in
    name: Sign in
    description: Logging in
    components:
      - {id: auth-api, name: Auth, only_show_if_degraded: true}
      - id: idp
        name: Identity providers
        showcase: false
        components:
          - {id: google, name: Google}
  - id: search
    name: Search
    components:
      - {id: search-api, name: Search API}
`)
	cfg, err := ParseConfig("config.yaml", src, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := data.Catalog{Journeys: []data.CatalogJourney{
		{ID: "sign-in", Name: "Sign in", Description: "Logging in", Components: []data.CatalogComponent{
			{ID: "auth-api", Name: "Auth", Showcase: true, OnlyShowIfDegraded: true},
			{ID: "idp", Name: "Identity providers", Showcase: false, Children: []data.CatalogComponent{
				{ID: "google", Name: "Google", Showcase: true},
			}},
		}},
		{ID: "search", Name: "Search", Components: []data.CatalogComponent{
			{ID: "search-api", Name: "Search API", Showcase: true},
		}},
	}}
	if got := cfg.Catalog(); !reflect.DeepEqual(got, want) {
		t.Errorf("Catalog() =\n%+v\nwant\n%+v", got, want)
	}
}

func TestEnvOverrides(t *testing.T) {
	const base = `
page: {name: Acme, url: "https://status.acme.example"}
journeys: [{id: j, name: J, components: [{id: c, name: C}]}]
`
	const secrets = base + `
notifier:
  email:
    host: smtp.acme.example
    username: u
    password: %s
    from: status@acme.example
redis:
  address: 127.0.0.1:6379
  password: %s
`
	tests := []struct {
		name               string
		smtp, redis        string // values written in the file
		env                map[string]string
		wantSMTP, wantRdis string
		wantErr            string
	}{
		{
			name: "literal", smtp: "file-smtp", redis: "file-redis",
			wantSMTP: "file-smtp", wantRdis: "file-redis",
		},
		{
			name: "references", smtp: "${SMTP_PASSWORD}", redis: "${REDIS_PASSWORD}",
			env:      map[string]string{"SMTP_PASSWORD": "env-smtp", "REDIS_PASSWORD": "env-redis"},
			wantSMTP: "env-smtp", wantRdis: "env-redis",
		},
		{
			name: "overrides win over literals", smtp: "file-smtp", redis: "file-redis",
			env:      map[string]string{"STATUSD_SMTP_PASSWORD": "o-smtp", "STATUSD_REDIS_PASSWORD": "o-redis"},
			wantSMTP: "o-smtp", wantRdis: "o-redis",
		},
		{
			name: "overrides win over references", smtp: "${SMTP_PASSWORD}", redis: "${REDIS_PASSWORD}",
			env:      map[string]string{"SMTP_PASSWORD": "env-smtp", "STATUSD_SMTP_PASSWORD": "o-smtp", "STATUSD_REDIS_PASSWORD": "o-redis"},
			wantSMTP: "o-smtp", wantRdis: "o-redis",
		},
		{
			name: "empty override is unset", smtp: "file-smtp", redis: "file-redis",
			env:      map[string]string{"STATUSD_SMTP_PASSWORD": ""},
			wantSMTP: "file-smtp", wantRdis: "file-redis",
		},
		{
			name: "unset references", smtp: "${SMTP_PASSWORD}", redis: "${REDIS_PASSWORD}",
			env:     map[string]string{"SMTP_PASSWORD": ""},
			wantErr: "config.yaml:9: notifier.email.password: environment variable SMTP_PASSWORD is empty or not set\nconfig.yaml:13: redis.password: environment variable REDIS_PASSWORD is empty or not set",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(strings.Replace(strings.Replace(secrets, "%s", tt.smtp, 1), "%s", tt.redis, 1))
			cfg, err := ParseConfig("config.yaml", src, envFunc(tt.env))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseConfig() error = %v; want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Notifier.Email.Password != tt.wantSMTP || cfg.Redis.Password != tt.wantRdis {
				t.Errorf("passwords = %q, %q; want %q, %q", cfg.Notifier.Email.Password, cfg.Redis.Password, tt.wantSMTP, tt.wantRdis)
			}
		})
	}

	t.Run("override without a section", func(t *testing.T) {
		cfg, err := ParseConfig("config.yaml", []byte(base), envFunc(map[string]string{"STATUSD_REDIS_PASSWORD": "x", "STATUSD_SMTP_PASSWORD": "y"}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Redis != nil || cfg.Notifier.Email != nil {
			t.Errorf("Redis = %+v, Email = %+v; want both nil without their sections", cfg.Redis, cfg.Notifier.Email)
		}
	})
}

func TestLoadConfigMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := LoadConfig(path, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadConfig(missing) = %v; want fs.ErrNotExist", err)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Line != 0 {
		t.Fatalf("LoadConfig(missing) = %#v; want a *ConfigError with one problem without a line", err)
	}
	if want := path + ": cannot read the file: no such file or directory"; err.Error() != want {
		t.Errorf("LoadConfig(missing) = %q; want %q", err, want)
	}
}

func TestParseConfigTooLarge(t *testing.T) {
	src := bytes.Repeat([]byte("# padding\n"), maxConfigSize/10+1)
	_, err := ParseConfig("big.yaml", src, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "big.yaml:1: the file is larger than 1024 KiB") {
		t.Errorf("ParseConfig(%d bytes) = %v; want a size error", len(src), err)
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"0", 0, false},
		{"250ms", 250 * time.Millisecond, false},
		{"1h30m", 90 * time.Minute, false},
		{"30d", 30 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"0d", 0, false},
		{"106751d", 106751 * 24 * time.Hour, false},
		{"106752d", 0, true},
		{"106751d24h", 0, true},
		{"d", 0, true},
		{"1d-1h", 0, true},
		{"-5s", 0, true},
		{"5", 0, true},
		{"ten", 0, true},
		{"", 0, true},
		{"1.5d", 0, true},
		{"99999999999999999999d", 0, true},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{250 * time.Millisecond, "250ms"},
		{5 * time.Minute, "5m"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{30 * 24 * time.Hour, "30d"},
		{36 * time.Hour, "36h"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.in); got != tt.want {
			t.Errorf("formatDuration(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestRunCheckConfig(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr string // a substring
	}{
		{
			name: "good", args: []string{"--config", "testdata/good/full.yaml"}, env: testEnv,
			wantCode: 0, wantStdout: "testdata/good/full.yaml: ok (2 journeys, 5 components, 4 probes)\n",
		},
		{
			name: "single dash and equals", args: []string{"-config=testdata/good/minimal.yaml"},
			wantCode: 0, wantStdout: "testdata/good/minimal.yaml: ok (1 journey, 1 component, 0 probes)\n",
		},
		{
			name: "from STATUSD_CONFIG", env: map[string]string{"STATUSD_CONFIG": "../../config.example.yaml"},
			wantCode: 0, wantStdout: "../../config.example.yaml: ok (4 journeys, 11 components, 9 probes)\n",
		},
		{
			name: "flag wins over STATUSD_CONFIG", args: []string{"--config", "testdata/good/minimal.yaml"},
			env:      map[string]string{"STATUSD_CONFIG": "nope.yaml"},
			wantCode: 0, wantStdout: "testdata/good/minimal.yaml: ok (1 journey, 1 component, 0 probes)\n",
		},
		{
			name: "bad", args: []string{"--config", "testdata/bad/many_problems.yaml"},
			wantCode: 1, wantStderr: "testdata/bad/many_problems.yaml:4: page.url: \"status.acme.example\" is not an absolute URL",
		},
		{
			name: "missing file", args: []string{"--config", "testdata/nope.yaml"},
			wantCode: 1, wantStderr: "testdata/nope.yaml: cannot read the file: no such file or directory\n",
		},
		{
			name: "default file", args: nil,
			wantCode: 1, wantStderr: "config.yaml: cannot read the file",
		},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 2, wantStderr: "flag provided but not defined: -bogus"},
		{name: "missing flag value", args: []string{"--config"}, wantCode: 2, wantStderr: "flag needs an argument"},
		{name: "extra argument", args: []string{"config.yaml"}, wantCode: 2, wantStderr: "unexpected argument \"config.yaml\""},
		{name: "help", args: []string{"-h"}, wantCode: 0, wantStderr: "usage: statusd check-config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runCheckConfig(tt.args, &stdout, &stderr, envFunc(tt.env))
			if code != tt.wantCode {
				t.Errorf("runCheckConfig(%q) = %d; want %d (stderr: %s)", tt.args, code, tt.wantCode, stderr.String())
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("runCheckConfig(%q) stdout = %q; want %q", tt.args, stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("runCheckConfig(%q) stderr = %q; want it to contain %q", tt.args, stderr.String(), tt.wantStderr)
			}
		})
	}

	t.Run("every problem on its own line", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		runCheckConfig([]string{"--config", "testdata/bad/many_problems.yaml"}, &stdout, &stderr, nil)
		want, err := os.ReadFile("testdata/bad/many_problems.want")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := stderr.String(), strings.ReplaceAll(string(want), "config.yaml:", "testdata/bad/many_problems.yaml:"); got != want {
			t.Errorf("stderr =\n%s\nwant\n%s", got, want)
		}
	})
}

// FuzzConfig checks that ParseConfig never panics and that whatever it
// rejects is reported as file:line problems.
func FuzzConfig(f *testing.F) {
	for _, pattern := range []string{"testdata/good/*.yaml", "testdata/bad/*.yaml", "../../config.example.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := ParseConfig("config.yaml", src, envFunc(testEnv))
		if err == nil {
			if cfg == nil || len(cfg.Journeys) == 0 || cfg.Page.Location == nil {
				t.Fatalf("ParseConfig accepted an incomplete config: %+v", cfg)
			}
			if err := cfg.Catalog().Validate(); err != nil {
				t.Fatalf("ParseConfig accepted a config whose catalog is invalid: %v", err)
			}
			return
		}
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("ParseConfig error is %T (%v); want *ConfigError", err, err)
		}
		if len(ce.Problems) == 0 {
			t.Fatal("ParseConfig returned a *ConfigError without problems")
		}
		for _, p := range ce.Problems {
			if p.Line < 0 || strings.TrimSpace(p.Reason) == "" || strings.Contains(p.Reason, "\n") {
				t.Fatalf("ParseConfig problem %+v: want a line ≥ 0 and a one-line reason", p)
			}
		}
	})
}

// TestProxyConfig: server.proxy_header and server.trusted_proxies reach the
// public side, and the admin takes them unless it has keys of its own.
func TestProxyConfig(t *testing.T) {
	const head = "page: {name: Acme, url: https://status.acme.example}\n" +
		"journeys: [{id: sign-in, name: Sign in, components: [{id: auth-api, name: Authentication API}]}]\n"
	for _, c := range []struct {
		name, yaml            string
		header, adminHeader   string
		trusted, adminTrusted []string
	}{
		{"none", "", "", "", nil, nil},
		{"server only", "server: {proxy_header: X-Forwarded-For, trusted_proxies: [10.0.0.0/8, 192.0.2.1]}\n",
			"X-Forwarded-For", "X-Forwarded-For", []string{"10.0.0.0/8", "192.0.2.1"}, []string{"10.0.0.0/8", "192.0.2.1"}},
		{"admin its own", "server: {proxy_header: CF-Connecting-IP, trusted_proxies: [198.51.100.0/24]}\n" +
			"admin: {proxy_header: X-Real-IP, trusted_proxies: [127.0.0.1]}\n",
			"CF-Connecting-IP", "X-Real-IP", []string{"198.51.100.0/24"}, []string{"127.0.0.1"}},
		{"admin header, server proxies", "server: {proxy_header: X-Forwarded-For, trusted_proxies: [10.0.0.0/8]}\n" +
			"admin: {proxy_header: X-Real-IP}\n",
			"X-Forwarded-For", "X-Real-IP", []string{"10.0.0.0/8"}, []string{"10.0.0.0/8"}},
		{"admin opts out", "server: {proxy_header: X-Forwarded-For, trusted_proxies: [10.0.0.0/8]}\n" +
			"admin: {proxy_header: ''}\n",
			"X-Forwarded-For", "", []string{"10.0.0.0/8"}, []string{"10.0.0.0/8"}},
		{"admin alone, as before", "admin: {proxy_header: X-Forwarded-For, trusted_proxies: [10.0.0.0/8]}\n",
			"", "X-Forwarded-For", nil, []string{"10.0.0.0/8"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig("config.yaml", []byte(head+c.yaml), envFunc(nil))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Server.ProxyHeader != c.header || !reflect.DeepEqual(cfg.Server.TrustedProxies, c.trusted) ||
				cfg.Admin.ProxyHeader != c.adminHeader || !reflect.DeepEqual(cfg.Admin.TrustedProxies, c.adminTrusted) {
				t.Errorf("server %q %q, admin %q %q; want server %q %q, admin %q %q", cfg.Server.ProxyHeader, cfg.Server.TrustedProxies,
					cfg.Admin.ProxyHeader, cfg.Admin.TrustedProxies, c.header, c.trusted, c.adminHeader, c.adminTrusted)
			}
			if o := adminOptions(cfg.Admin, nil); o.ProxyHeader != c.adminHeader || !reflect.DeepEqual(o.TrustedProxies, c.adminTrusted) {
				t.Errorf("admin options %q %q", o.ProxyHeader, o.TrustedProxies)
			}
		})
	}
}
