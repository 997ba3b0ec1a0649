package server

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

// The admin API for subscribers and their deliveries. Addresses are
// personal data: they appear in responses to a token with
// subscribers:read, never in logs; audit entries name subscribers by id.

// SubscriberAdminStore is what the subscriber endpoints need from the
// store. *data.Store satisfies it; with another store they answer 404.
type SubscriberAdminStore interface {
	Subscribers(ctx context.Context, f data.SubscriberFilter) ([]data.Subscriber, error)
	Subscriber(ctx context.Context, id int64) (data.Subscriber, error)
	AddConfirmedSubscribers(ctx context.Context, list []data.NewSubscriber, actor string) (int, error)
	DeleteSubscriber(ctx context.Context, id int64, actor string) error
	RetryDelivery(ctx context.Context, id int64, actor string) error
	Deliveries(ctx context.Context, f data.DeliveryFilter) ([]data.Delivery, error)
	DeliveryCounts(ctx context.Context, eventID int64) (map[data.DeliveryState]int, error)
	SubjectDeliveryCounts(ctx context.Context, subject string) ([]data.EventDeliveries, error)
	EventsByID(ctx context.Context, ids ...int64) (map[int64]data.Event, error)
}

var _ SubscriberAdminStore = (*data.Store)(nil)

func (a *admin) subscriberStore() (SubscriberAdminStore, error) {
	s, ok := a.store.(SubscriberAdminStore)
	if !ok {
		return nil, fiber.NewError(fiber.StatusNotFound, "Subscribers are not available with this store.")
	}
	return s, nil
}

type apiSubscriberJSON struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"` // email or webhook
	// Address is the email address, or the webhook URL.
	Address string `json:"address"`
	// Email is the address itself, or the webhook owner's address.
	Email       string     `json:"email"`
	Format      string     `json:"format,omitempty"`
	Components  []string   `json:"components"`
	Journeys    []string   `json:"journeys"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
	CreatedAt   time.Time  `json:"created_at"`
	DisabledAt  *time.Time `json:"disabled_at"`
}

type apiSubscriberPage struct {
	Subscribers []apiSubscriberJSON `json:"subscribers"`
	// NextAfter pages on: pass it as after for the next page; 0 at the end.
	NextAfter int64 `json:"next_after"`
}

type apiSubscriberImport struct {
	// Added counts new subscribers; Skipped those already subscribed.
	Added   int `json:"added"`
	Skipped int `json:"skipped"`
}

type apiDeliveryJSON struct {
	ID            int64      `json:"id"`
	Key           string     `json:"key"`
	EventID       int64      `json:"event_id"`
	Notice        string     `json:"notice,omitempty"`
	SubscriberID  int64      `json:"subscriber_id"`
	Channel       string     `json:"channel"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	// LastError is the last attempt's error, or why it is dead.
	LastError string     `json:"last_error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at"`
}

type apiDeliveryPage struct {
	Deliveries []apiDeliveryJSON `json:"deliveries"`
	NextAfter  int64             `json:"next_after"`
}

type apiDeliveryCounts struct {
	EventID int64          `json:"event_id"`
	Counts  map[string]int `json:"counts"` // by state; every state present
	Total   int            `json:"total"`
}

// maxImportRows bounds one import; larger lists go in several files.
const maxImportRows = 50000

func (a *admin) subscriberAPIRoutes() []apiRoute {
	paging := []apiParam{
		{Name: "after", In: "query", Type: "integer", Description: "only ids greater than this (paging)"},
		{Name: "limit", In: "query", Type: "integer", Description: "1–1000, default 100"},
	}
	return []apiRoute{
		{Method: "GET", Path: "/subscribers", Scope: data.ScopeSubscribersRead, Summary: "Subscribers in id order, searched and filtered (staff addresses from the configuration are not listed)",
			Params: append([]apiParam{
				{Name: "q", In: "query", Type: "string", Description: "part of the address or owner address"},
				{Name: "kind", In: "query", Type: "string", Description: "email or webhook"},
				{Name: "confirmed", In: "query", Type: "string", Description: "true: only confirmed; false: only pending"},
			}, paging...),
			Response: apiSubscriberPage{}, Status: 200, Handler: a.apiSubscribers},
		{Method: "GET", Path: "/subscribers/export.csv", Scope: data.ScopeSubscribersRead,
			Summary: "Every subscriber as CSV (streamed): id, kind, address, scope, confirmed_at, created_at. " +
				"A cell starting with =, +, -, @, tab or CR gets a leading ' so spreadsheets do not run it as a formula",
			Response: "", ResponseMedia: "text/csv", Status: 200, Handler: a.subscribersCSV},
		{Method: "POST", Path: "/subscribers/import", Scope: data.ScopeSubscribersWrite,
			Summary: "Import email subscribers from CSV: a header with email and optional components and journeys (ids separated by spaces). " +
				"All or nothing: a bad row is a 400 naming its line, and nothing is stored. Imported subscribers are confirmed without " +
				"an opt-in email, because the operator vouches for them; addresses already subscribed are skipped.",
			Request: "", RequestMedia: "text/csv", Response: apiSubscriberImport{}, Status: 200, Handler: a.apiImportSubscribers},
		{Method: "DELETE", Path: "/subscribers/{id}", Scope: data.ScopeSubscribersWrite, Summary: "Remove a subscriber and its pending deliveries",
			Params: []apiParam{{Name: "id", In: "path", Type: "integer", Description: "subscriber id"}},
			Status: 204, Handler: a.apiDeleteSubscriber},
		{Method: "POST", Path: "/deliveries/{id}/retry", Scope: data.ScopeSubscribersWrite,
			Summary: "Give a dead delivery one more attempt now, under the same key (Message-ID, webhook-id). 409 if it is not dead, " +
				"or its subscriber is disabled or unconfirmed",
			Params: []apiParam{{Name: "id", In: "path", Type: "integer", Description: "the delivery's id"}}, Status: 204, Handler: a.apiRetryDelivery},
		{Method: "GET", Path: "/deliveries", Scope: data.ScopeSubscribersRead, Summary: "Deliveries in id order: state, attempts, next attempt, last error or dead reason",
			Params: append([]apiParam{
				{Name: "event_id", In: "query", Type: "integer", Description: "only this event's deliveries"},
				{Name: "subscriber_id", In: "query", Type: "integer", Description: "only this subscriber's deliveries"},
				{Name: "state", In: "query", Type: "string", Description: "pending, leased, retrying, sent or dead"},
			}, paging...),
			Response: apiDeliveryPage{}, Status: 200, Handler: a.apiDeliveries},
		{Method: "GET", Path: "/events/{id}/deliveries/counts", Scope: data.ScopeSubscribersRead, Summary: "An event's deliveries counted by state",
			Params:   []apiParam{{Name: "id", In: "path", Type: "integer", Description: "event id"}},
			Response: apiDeliveryCounts{}, Status: 200, Handler: a.apiDeliveryCounts},
	}
}

func subscriberJSON(s data.Subscriber) apiSubscriberJSON {
	j := apiSubscriberJSON{ID: s.ID, Kind: string(s.Channel), Address: s.Email, Email: s.Email, Format: string(s.Format),
		Components: append([]string{}, s.Components...), Journeys: append([]string{}, s.Journeys...),
		ConfirmedAt: timePtr(s.ConfirmedAt), CreatedAt: s.CreatedAt.UTC(), DisabledAt: timePtr(s.DisabledAt)}
	if s.Channel == data.ChannelWebhook {
		j.Address = s.URL
	}
	return j
}

// queryInt reads an optional positive integer parameter.
func queryInt(c *fiber.Ctx, name string, max int64) (int64, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > max {
		return 0, data.Invalid(name, "must be a whole number from 1 to %d", max)
	}
	return n, nil
}

func pageParams(c *fiber.Ctx) (after int64, limit int, err error) {
	if after, err = queryInt(c, "after", 1<<62); err != nil {
		return 0, 0, err
	}
	l, err := queryInt(c, "limit", 1000)
	return after, int(l), err
}

func (a *admin) apiSubscribers(c *fiber.Ctx) error {
	after, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 100
	}
	f := data.SubscriberFilter{After: after, Limit: limit, Search: strings.TrimSpace(c.Query("q"))}
	switch k := data.Channel(c.Query("kind")); k {
	case "", data.ChannelEmail, data.ChannelWebhook:
		f.Channel = k
	default:
		return data.Invalid("kind", "must be email or webhook")
	}
	switch c.Query("confirmed") {
	case "":
	case "true":
		yes := true
		f.Confirmed = &yes
	case "false":
		no := false
		f.Confirmed = &no
	default:
		return data.Invalid("confirmed", "must be true or false")
	}
	st, err := a.subscriberStore()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	subs, err := st.Subscribers(ctx, f)
	if err != nil {
		return err
	}
	out := apiSubscriberPage{Subscribers: []apiSubscriberJSON{}}
	for _, s := range subs {
		out.Subscribers = append(out.Subscribers, subscriberJSON(s))
	}
	if len(subs) == limit {
		out.NextAfter = subs[len(subs)-1].ID
	}
	return c.JSON(out)
}

// subscriberScope is the CSV's scope column: "all", or the components and
// journeys named, as component:ID and journey:ID separated by spaces.
func subscriberScope(s data.Subscriber) string {
	if s.All() {
		return "all"
	}
	var parts []string
	for _, id := range s.Components {
		parts = append(parts, "component:"+id)
	}
	for _, id := range s.Journeys {
		parts = append(parts, "journey:"+id)
	}
	return strings.Join(parts, " ")
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// subscribersCSV streams every subscriber, a page at a time, so a large
// list is never held in memory; the API and the admin UI serve it alike. A failure halfway cuts the body short; the
// last line then lacks its newline or the file lacks rows, which the
// caller sees as a short file rather than a silent truncation in the
// middle of a row, since csv.Writer writes whole records.
func (a *admin) subscribersCSV(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="subscribers.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	store, err := a.subscriberStore()
	if err != nil {
		return err
	}
	// Addresses are personal data: who took a copy is in the audit log.
	actor := ""
	if ss := sessionOf(c); ss != nil {
		actor = ss.User.Email
	} else {
		actor = apiActor(c)
	}
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = a.store.RecordAudit(actx, data.AuditChange{Actor: actor, Action: "subscriber.export", Subject: "subscribers", Detail: "CSV export of every subscriber"})
	acancel()
	if err != nil {
		return err
	}
	c.Context().SetBodyStreamWriter(func(bw *bufio.Writer) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		w := csv.NewWriter(bw)
		_ = w.Write([]string{"id", "kind", "address", "scope", "confirmed_at", "created_at"})
		// Every cell goes through csvCell: an address such as
		// "=HYPERLINK(…)@example.com" is a valid email address.
		var after int64
		for {
			subs, err := store.Subscribers(ctx, data.SubscriberFilter{After: after, Limit: 1000})
			if err != nil {
				break
			}
			for _, s := range subs {
				j := subscriberJSON(s)
				_ = w.Write([]string{csvCell(strconv.FormatInt(s.ID, 10)), csvCell(j.Kind), csvCell(j.Address), csvCell(subscriberScope(s)),
					csvCell(csvTime(s.ConfirmedAt)), csvCell(csvTime(s.CreatedAt))})
			}
			w.Flush()
			if w.Error() != nil || bw.Flush() != nil || len(subs) < 1000 {
				break
			}
			after = subs[len(subs)-1].ID
		}
		w.Flush()
		_ = bw.Flush()
	})
	return nil
}

// csvCell makes a cell safe to open in a spreadsheet: one that starts with
// =, +, -, @, a tab or a carriage return would be read as a formula (CSV
// or formula injection), so it gets a leading single quote, as OWASP's
// guidance on CSV injection says. Email addresses may start with =, + or
// -; quoting (for commas, quotes and newlines) is csv.Writer's.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// uncsvCell undoes csvCell on an imported cell, so that an exported address
// imports as it was. Email addresses may start with a quote too, but not
// one followed by a formula character in any real list.
func uncsvCell(s string) string {
	if len(s) > 1 && s[0] == '\'' && csvCell(s[1:]) != s[1:] {
		return s[1:]
	}
	return s
}

// splitIDCell splits a cell of ids separated by spaces, commas or semicolons.
func splitIDCell(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == ';' || r == '\t' })
}

// parseSubscriberCSV reads an import file. It returns the subscribers and,
// for each, the line it came from; an error names the line.
func parseSubscriberCSV(body io.Reader) ([]data.NewSubscriber, []int, error) {
	r := csv.NewReader(body)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err == io.EOF {
		return nil, nil, data.Invalid("body", "is empty; send a CSV file with a header line naming the email column")
	}
	if err != nil {
		return nil, nil, data.Invalid("body", "line 1: %s", csvProblem(err))
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch h {
		case "email", "components", "journeys":
		default:
			return nil, nil, data.Invalid("body", "line 1: unknown column %q; the columns are email, components and journeys", h)
		}
		if _, dup := col[h]; dup {
			return nil, nil, data.Invalid("body", "line 1: column %s appears twice", h)
		}
		col[h] = i
	}
	if _, ok := col["email"]; !ok {
		return nil, nil, data.Invalid("body", "line 1: the header must name an email column")
	}
	cell := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return uncsvCell(strings.TrimSpace(rec[i]))
		}
		return ""
	}
	var list []data.NewSubscriber
	var lines []int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			return nil, nil, data.Invalid("body", "line %d: %s", line, csvProblem(err))
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(list) == maxImportRows {
			return nil, nil, data.Invalid("body", "has more than %d rows; split it into several files", maxImportRows)
		}
		n := data.NewSubscriber{Channel: data.ChannelEmail, Email: cell(rec, "email"),
			Components: splitIDCell(cell(rec, "components")), Journeys: splitIDCell(cell(rec, "journeys"))}
		if err := n.Validate(); err != nil {
			var inv *data.InvalidError
			if errors.As(err, &inv) {
				return nil, nil, data.Invalid("body", "line %d: %s %s", line, inv.Field, inv.Reason)
			}
			return nil, nil, err
		}
		list = append(list, n)
		lines = append(lines, line)
	}
	if len(list) == 0 {
		return nil, nil, data.Invalid("body", "has a header but no subscribers")
	}
	return list, lines, nil
}

// csvProblem says what is wrong with CSV without quoting Go's error text.
func csvProblem(err error) string {
	switch {
	case errors.Is(err, csv.ErrQuote), errors.Is(err, csv.ErrBareQuote):
		return "a quote is misplaced"
	case errors.Is(err, csv.ErrFieldCount):
		return "wrong number of fields"
	}
	return "it is not valid CSV"
}

func (a *admin) apiImportSubscribers(c *fiber.Ctx) error {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	if !strings.HasPrefix(ct, "text/csv") {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "send the body as text/csv")
	}
	res, err := a.importSubscribers(c, strings.NewReader(string(c.Body())), apiActor(c))
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// importSubscribers reads an import file and stores its subscribers, all or
// nothing, for the API and the admin UI alike. A bad file is an
// *data.InvalidError on the field "body" that names the line.
func (a *admin) importSubscribers(c *fiber.Ctx, body io.Reader, actor string) (apiSubscriberImport, error) {
	list, lines, err := parseSubscriberCSV(body)
	if err != nil {
		return apiSubscriberImport{}, err
	}
	st, err := a.subscriberStore()
	if err != nil {
		return apiSubscriberImport{}, err
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), time.Minute)
	defer cancel()
	added, err := st.AddConfirmedSubscribers(ctx, list, actor)
	var inv *data.InvalidError
	if errors.As(err, &inv) && (inv.Field == "components" || inv.Field == "journeys") {
		// An unknown id, found by the store: name the first line with it.
		for i, n := range list {
			ids := n.Components
			if inv.Field == "journeys" {
				ids = n.Journeys
			}
			for _, id := range ids {
				if strings.Contains(inv.Reason, strconv.Quote(id)) {
					return apiSubscriberImport{}, data.Invalid("body", "line %d: %s %s", lines[i], inv.Field, inv.Reason)
				}
			}
		}
	}
	if err != nil {
		return apiSubscriberImport{}, err
	}
	return apiSubscriberImport{Added: added, Skipped: len(list) - added}, nil
}

func pathID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, fiber.NewError(fiber.StatusNotFound, "no such resource: the id is a positive whole number")
	}
	return id, nil
}

func (a *admin) apiRetryDelivery(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	st, err := a.subscriberStore()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	if err := st.RetryDelivery(ctx, id, apiActor(c)); err != nil {
		return retryError(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// retryError says why a delivery cannot be retried.
func retryError(err error) error {
	switch {
	case errors.Is(err, data.ErrNotFound):
		return fiber.NewError(fiber.StatusNotFound, "There is no delivery with this id. Old deliveries are pruned.")
	case errors.Is(err, data.ErrConflict):
		return fiber.NewError(fiber.StatusConflict, "Only a delivery that failed for good can be retried, and only while its subscriber is confirmed and enabled.")
	}
	return err
}

func (a *admin) apiDeleteSubscriber(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	st, err := a.subscriberStore()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	if err := st.DeleteSubscriber(ctx, id, apiActor(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func deliveryJSON(d data.Delivery) apiDeliveryJSON {
	return apiDeliveryJSON{ID: d.ID, Key: d.Key, EventID: d.EventID, Notice: d.Notice, SubscriberID: d.SubscriberID,
		Channel: string(d.Channel), State: string(d.State), Attempts: d.Attempts, NextAttemptAt: timePtr(d.NextAttemptAt),
		LastError: d.LastError, CreatedAt: d.CreatedAt.UTC(), SentAt: timePtr(d.SentAt)}
}

var deliveryStates = []data.DeliveryState{data.DeliveryPending, data.DeliveryLeased, data.DeliveryRetrying, data.DeliverySent, data.DeliveryDead}

func (a *admin) apiDeliveries(c *fiber.Ctx) error {
	after, limit, err := pageParams(c)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 100
	}
	f := data.DeliveryFilter{After: after, Limit: limit}
	if f.EventID, err = queryInt(c, "event_id", 1<<62); err != nil {
		return err
	}
	if f.SubscriberID, err = queryInt(c, "subscriber_id", 1<<62); err != nil {
		return err
	}
	if st := data.DeliveryState(c.Query("state")); st != "" {
		ok := false
		for _, s := range deliveryStates {
			ok = ok || s == st
		}
		if !ok {
			return data.Invalid("state", "must be pending, leased, retrying, sent or dead")
		}
		f.State = st
	}
	st, err := a.subscriberStore()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	ds, err := st.Deliveries(ctx, f)
	if err != nil {
		return err
	}
	out := apiDeliveryPage{Deliveries: []apiDeliveryJSON{}}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, deliveryJSON(d))
	}
	if len(ds) == limit {
		out.NextAfter = ds[len(ds)-1].ID
	}
	return c.JSON(out)
}

func (a *admin) apiDeliveryCounts(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	st, err := a.subscriberStore()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	counts, err := st.DeliveryCounts(ctx, id)
	if err != nil {
		return err
	}
	out := apiDeliveryCounts{EventID: id, Counts: map[string]int{}}
	for _, s := range deliveryStates {
		out.Counts[string(s)] = counts[s]
		out.Total += counts[s]
	}
	return c.JSON(out)
}
