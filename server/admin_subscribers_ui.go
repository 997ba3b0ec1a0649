package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

// The admin UI's subscriber pages: a searchable list, one subscriber with
// its recent deliveries, removal, CSV import and export. They allow what
// the subscribers:read and subscribers:write scopes allow on the API, and
// the store writes the same audit entries (by subscriber id, never by
// address). Webhook URLs are shown as scheme and host only, as on the
// public side: Slack and Teams URLs carry their secret in the path.

const (
	subscribersPageSize = 50
	deliveriesPageSize  = 50
)

func (a *admin) subscriberRoutes(g fiber.Router) {
	g.Get("/subscribers", a.require(permSubscribers, a.subscribersPage))
	g.Get("/subscribers/export.csv", a.require(permSubscribers, a.subscribersCSV))
	g.Post("/subscribers/import", a.require(permSubscribersWrite, a.importSubscribersForm))
	g.Get("/subscribers/:id", a.require(permSubscribers, a.subscriberPage))
	g.Post("/subscribers/:id/remove", a.require(permSubscribersWrite, a.removeSubscriberForm))
	g.Post("/subscribers/:id/deliveries/:delivery/retry", a.require(permSubscribersWrite, a.retryDeliveryForm))
}

// scopeNames says what a subscriber hears about, by name: "Everything", or
// the components and journeys named, unknown (archived) ones by id.
type scopeNames struct {
	components, journeys map[string]string
}

func (a *admin) scopeNames(ctx context.Context) (scopeNames, error) {
	ci, err := a.catalog(ctx)
	if err != nil {
		return scopeNames{}, err
	}
	sn := scopeNames{components: ci.names, journeys: map[string]string{}}
	for _, j := range ci.snap.Journeys {
		sn.journeys[j.ID] = j.Name
	}
	return sn, nil
}

func (sn scopeNames) of(s data.Subscriber) string {
	if s.All() {
		return "Everything"
	}
	var parts []string
	for _, id := range s.Components {
		parts = append(parts, cmpOr(sn.components[id], id))
	}
	for _, id := range s.Journeys {
		parts = append(parts, cmpOr(sn.journeys[id], id)+" (journey)")
	}
	return words(parts)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (a *admin) subscriberRow(s data.Subscriber, sn scopeNames) subscriberRow {
	r := subscriberRow{ID: s.ID, Kind: string(s.Channel), Address: s.Email, Scope: sn.of(s), Confirmed: a.srv.timeView(s.ConfirmedAt),
		Created: a.srv.timeView(s.CreatedAt), Disabled: a.srv.timeView(s.DisabledAt), FailingSince: a.srv.timeView(s.FailingSince)}
	if s.Channel == data.ChannelWebhook {
		r.Address, r.Owner, r.Format = redactedURL(s.URL), s.Email, formatName(s.Format)
	}
	return r
}

// parseSubscriberFilter reads the list's search form and paging.
func parseSubscriberFilter(c *fiber.Ctx) (data.SubscriberFilter, subscriberFilterForm, error) {
	form := subscriberFilterForm{Q: strings.TrimSpace(c.Query("q")), Kind: c.Query("kind"), Confirmed: c.Query("confirmed")}
	f := data.SubscriberFilter{Search: form.Q, Limit: subscribersPageSize}
	if len(form.Q) > 254 {
		return f, form, data.Invalid("search", "is longer than 254 characters")
	}
	switch k := data.Channel(form.Kind); k {
	case "", data.ChannelEmail, data.ChannelWebhook:
		f.Channel = k
	default:
		form.Kind = ""
		return f, form, data.Invalid("kind", "must be email or webhook")
	}
	switch form.Confirmed {
	case "":
	case "true", "false":
		yes := form.Confirmed == "true"
		f.Confirmed = &yes
	default:
		form.Confirmed = ""
		return f, form, data.Invalid("confirmed", "must be confirmed or pending")
	}
	var err error
	if f.After, err = queryInt(c, "after", 1<<62); err != nil {
		return f, form, data.Invalid("page", "link is not valid; start again from the first page")
	}
	return f, form, nil
}

// query is the search as URL parameters, for paging links.
func (f subscriberFilterForm) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"q": f.Q, "kind": f.Kind, "confirmed": f.Confirmed} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func (a *admin) subscribersView(c *fiber.Ctx) (*adminView, *subscribersView) {
	v := a.base(c, "Subscribers")
	sv := &subscribersView{CanWrite: can(sessionOf(c).User.Role, permSubscribersWrite), MaxRows: thousands(maxImportRows),
		MaxSize: byteSize(a.srv.opts.BodyLimit)}
	v.Subscribers = sv
	return v, sv
}

var subscriberFields = map[string]string{"search": "q", "kind": "kind", "confirmed": "confirmed", "page": "q", "": "file"}

func (a *admin) subscribersPage(c *fiber.Ctx) error {
	v, sv := a.subscribersView(c)
	v.Notice = subscribersNotice(c)
	f, form, err := parseSubscriberFilter(c)
	sv.Filter = form
	if err != nil {
		return a.invalid(c, "subscribers.html", v, err, subscriberFields)
	}
	if err := a.listSubscribers(c, sv, f); err != nil {
		return err
	}
	return a.render(c, "subscribers.html", v)
}

func (a *admin) listSubscribers(c *fiber.Ctx, sv *subscribersView, f data.SubscriberFilter) error {
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
	sn, err := a.scopeNames(ctx)
	if err != nil {
		return err
	}
	for _, s := range subs {
		sv.Rows = append(sv.Rows, a.subscriberRow(s, sn))
	}
	q := sv.Filter.query()
	if f.After > 0 {
		sv.First = "/admin/subscribers"
		if len(q) > 0 {
			sv.First += "?" + q.Encode()
		}
	}
	if len(subs) == f.Limit {
		q.Set("after", strconv.FormatInt(subs[len(subs)-1].ID, 10))
		sv.Next = "/admin/subscribers?" + q.Encode()
	}
	sv.Searched = len(q) > 0 || f.After > 0
	return nil
}

// subscribersNotice is the message after a redirect to the list.
func subscribersNotice(c *fiber.Ctx) string {
	switch c.Query("done") {
	case "subscriber-removed":
		return "The subscriber was removed, with its pending deliveries. They were not told."
	case "subscribers-imported":
		added, _ := strconv.Atoi(c.Query("added"))
		skipped, _ := strconv.Atoi(c.Query("skipped"))
		s := fmt.Sprintf("Imported %s.", plural(added, "new subscriber", "new subscribers"))
		if skipped > 0 {
			s += fmt.Sprintf(" %s already subscribed, so left as %s.", plural(skipped, "address was", "addresses were"), pick(skipped == 1, "it was", "they were"))
		}
		return s
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

// thousands writes n with a comma between thousands: 50,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// byteSize puts a size in bytes in words: "1 MiB", "512 KiB".
func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

// importSubscribersForm takes an uploaded CSV file. Like the API it is all
// or nothing: a bad row shows the form again naming its line, and nothing
// is stored.
func (a *admin) importSubscribersForm(c *fiber.Ctx) error {
	v, sv := a.subscribersView(c)
	fail := func(err error) error {
		// The list below the form is the first page, unsearched.
		if lerr := a.listSubscribers(c, sv, data.SubscriberFilter{Limit: subscribersPageSize}); lerr != nil {
			return lerr
		}
		return a.invalid(c, "subscribers.html", v, err, subscriberFields)
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return fail(data.Invalid("file", "is missing: choose a CSV file to import"))
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("open uploaded file: %w", err)
	}
	defer f.Close()
	res, err := a.importSubscribers(c, io.LimitReader(f, int64(a.srv.opts.BodyLimit)), sessionOf(c).User.Email)
	var inv *data.InvalidError
	if errors.As(err, &inv) && inv.Field == "body" {
		// "The body line 3: …" reads badly; the form speaks of the file.
		reason := inv.Reason
		if rest, ok := strings.CutPrefix(reason, "line "); ok {
			reason = "has a problem on line " + rest
		}
		return fail(data.Invalid("file", "%s. Nothing was stored", reason))
	}
	if err != nil {
		return fail(err)
	}
	return c.Redirect(fmt.Sprintf("/admin/subscribers?done=subscribers-imported&added=%d&skipped=%d", res.Added, res.Skipped), fiber.StatusSeeOther)
}

// subscriberID reads the :id of a subscriber page; anything but a positive
// number is a 404.
func subscriberID(c *fiber.Ctx) (int64, error) {
	id, err := pathID(c)
	if err != nil {
		return 0, fiber.NewError(fiber.StatusNotFound, "There is no subscriber with this id.")
	}
	return id, nil
}

func (a *admin) subscriberPage(c *fiber.Ctx) error {
	id, err := subscriberID(c)
	if err != nil {
		return err
	}
	st, err := a.subscriberStore()
	if err != nil {
		return err
	}
	f := data.DeliveryFilter{SubscriberID: id, Newest: true, Limit: deliveriesPageSize}
	if f.Before, err = queryInt(c, "before", 1<<62); err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "This page link is not valid. Start again from the subscriber's page.")
	}
	ctx, cancel := bound(c)
	defer cancel()
	s, err := st.Subscriber(ctx, id)
	if errors.Is(err, data.ErrNotFound) || err == nil && s.Staff {
		// Staff addresses come from the configuration and are not listed.
		return fiber.NewError(fiber.StatusNotFound, "There is no subscriber with this id. It may have been removed.")
	}
	if err != nil {
		return err
	}
	sn, err := a.scopeNames(ctx)
	if err != nil {
		return err
	}
	ds, err := st.Deliveries(ctx, f)
	if err != nil {
		return err
	}
	var evIDs []int64
	for _, d := range ds {
		if d.EventID != 0 {
			evIDs = append(evIDs, d.EventID)
		}
	}
	events, err := st.EventsByID(ctx, evIDs...)
	if err != nil {
		return err
	}
	pv := &subscriberPageView{Subscriber: a.subscriberRow(s, sn), CanWrite: can(sessionOf(c).User.Role, permSubscribersWrite), Older: f.Before > 0}
	for _, d := range ds {
		pv.Deliveries = append(pv.Deliveries, a.deliveryRow(d, events[d.EventID]))
	}
	if len(ds) == f.Limit {
		pv.Next = fmt.Sprintf("/admin/subscribers/%d?before=%d", id, ds[len(ds)-1].ID)
	}
	v := a.base(c, "Subscriber "+strconv.FormatInt(id, 10))
	if c.Query("done") == "delivery-retried" {
		v.Notice = "The delivery will be tried again in a moment, with the same message id. Reload to see how it went."
	}
	v.Subscriber = pv
	return a.render(c, "subscriber.html", v)
}

// deliveryRow says where a delivery is: sent (when), retrying (when next,
// and why the last attempt failed), failed for good (why), or waiting.
func (a *admin) deliveryRow(d data.Delivery, ev data.Event) deliveryRow {
	r := deliveryRow{ID: d.ID, Attempts: d.Attempts, Created: a.srv.timeView(d.CreatedAt), Error: d.LastError}
	switch d.State {
	case data.DeliverySent:
		r.State = labelView{Value: "sent", Label: "Sent", Class: "ok"}
		r.When = a.srv.timeView(d.SentAt)
	case data.DeliveryRetrying:
		r.State = labelView{Value: "retrying", Label: "Retrying", Class: "degraded"}
		r.When = a.srv.timeView(d.NextAttemptAt)
	case data.DeliveryDead:
		r.State = labelView{Value: "dead", Label: "Failed for good", Class: "major"}
	case data.DeliveryLeased:
		r.State = labelView{Value: "leased", Label: "Sending", Class: "none"}
	default:
		r.State = labelView{Value: "pending", Label: "Waiting to be sent", Class: "none"}
		r.When = a.srv.timeView(d.NextAttemptAt)
	}
	switch {
	case d.EventID == 0 && d.Notice == data.NoticeWebhookDisabled:
		r.Event = "Notice: the webhook was disabled"
	case d.EventID == 0 && d.Notice == data.NoticeWebhookFailing:
		r.Event = "Notice: the webhook keeps failing"
	case d.EventID == 0:
		r.Event = "Notice about the subscription"
	default:
		r.Event, r.EventURL = eventText(ev)
		if r.Event == "" {
			r.Event = "Event " + strconv.FormatInt(d.EventID, 10)
		}
	}
	return r
}

// eventText names an event and links to what it is about, where the admin
// has a page for it.
func eventText(ev data.Event) (text, link string) {
	switch p := ev.Payload.(type) {
	case *data.IncidentChanged:
		return fmt.Sprintf("%s: %s", eventKindLabel(ev.Kind), p.Name), "/admin/incidents/" + url.PathEscape(p.IncidentID)
	case *data.ComponentStatusChanged:
		return fmt.Sprintf("%s: %s, %s", eventKindLabel(ev.Kind), p.ComponentName, p.New.Label()), "/admin/components/" + url.PathEscape(p.ComponentID)
	case *data.SLOBurn:
		return eventKindLabel(ev.Kind), ""
	}
	if ev.Kind != "" {
		return eventKindLabel(ev.Kind), ""
	}
	return "", ""
}

// eventKindLabel says what kind of event a delivery announced.
func eventKindLabel(k data.EventKind) string {
	switch k {
	case data.EventIncidentCreated:
		return "Incident opened"
	case data.EventIncidentUpdated:
		return "Incident updated"
	case data.EventIncidentResolved:
		return "Incident resolved"
	case data.EventMaintenanceScheduled:
		return "Maintenance scheduled"
	case data.EventMaintenanceStarted:
		return "Maintenance started"
	case data.EventMaintenanceUpdated:
		return "Maintenance updated"
	case data.EventMaintenanceCompleted:
		return "Maintenance completed"
	case data.EventMaintenanceReminder:
		return "Maintenance reminder"
	case data.EventComponentStatusChanged:
		return "Component status changed"
	case data.EventSLOBurn:
		return "SLO burning its error budget"
	case data.EventSLORecovered:
		return "SLO recovered"
	case data.EventUpdateOverdue:
		return "Staff alert: update overdue"
	case data.EventDraftWaiting:
		return "Staff alert: draft waiting"
	case data.EventMaintenanceLate:
		return "Staff alert: maintenance not started"
	case data.EventMaintenanceOverrun:
		return "Staff alert: maintenance overrunning"
	}
	return string(k)
}

func (a *admin) removeSubscriberForm(c *fiber.Ctx) error {
	id, err := subscriberID(c)
	if err != nil {
		return err
	}
	st, err := a.subscriberStore()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	s, err := st.Subscriber(ctx, id)
	if err == nil && s.Staff {
		err = data.ErrNotFound // staff addresses are the configuration's to change
	}
	if err == nil {
		err = st.DeleteSubscriber(ctx, id, sessionOf(c).User.Email)
	}
	if errors.Is(err, data.ErrNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "There is no subscriber with this id. It may have been removed already.")
	}
	if err != nil {
		return err
	}
	return c.Redirect("/admin/subscribers?done=subscriber-removed", fiber.StatusSeeOther)
}

// retryDeliveryForm gives one of a subscriber's dead deliveries another
// attempt, then shows the subscriber's page again.
func (a *admin) retryDeliveryForm(c *fiber.Ctx) error {
	id, err := subscriberID(c)
	if err != nil {
		return err
	}
	did, err := strconv.ParseInt(c.Params("delivery"), 10, 64)
	if err != nil || did < 1 {
		return fiber.NewError(fiber.StatusNotFound, "There is no delivery with this id.")
	}
	st, err := a.subscriberStore()
	if err != nil {
		return err
	}
	ctx, cancel := bound(c)
	defer cancel()
	ds, err := st.Deliveries(ctx, data.DeliveryFilter{SubscriberID: id, Newest: true, Before: did + 1, Limit: 1})
	if err != nil {
		return err
	}
	if len(ds) == 0 || ds[0].ID != did {
		return fiber.NewError(fiber.StatusNotFound, "This subscriber has no delivery with this id. Old deliveries are pruned.")
	}
	if err := st.RetryDelivery(ctx, did, sessionOf(c).User.Email); err != nil {
		return retryError(err)
	}
	return c.Redirect(fmt.Sprintf("/admin/subscribers/%d?done=delivery-retried", id), fiber.StatusSeeOther)
}

// incidentDeliveries counts the deliveries of an incident's events, for its
// admin page; nil when the store keeps no subscribers.
func (a *admin) incidentDeliveries(ctx context.Context, incidentID string) ([]eventDeliveriesView, error) {
	st, ok := a.store.(SubscriberAdminStore)
	if !ok {
		return nil, nil
	}
	list, err := st.SubjectDeliveryCounts(ctx, incidentID)
	if err != nil {
		return nil, err
	}
	out := make([]eventDeliveriesView, 0, len(list))
	for _, e := range list {
		v := eventDeliveriesView{Event: eventKindLabel(e.Kind), At: a.srv.timeView(e.CreatedAt), Expanding: e.Expanding,
			Sent: e.Counts[data.DeliverySent], Pending: e.Counts[data.DeliveryPending] + e.Counts[data.DeliveryLeased],
			Retrying: e.Counts[data.DeliveryRetrying], Dead: e.Counts[data.DeliveryDead]}
		v.Total = v.Sent + v.Pending + v.Retrying + v.Dead
		out = append(out, v)
	}
	return out, nil
}
