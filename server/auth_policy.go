package server

import (
	"slices"

	"github.com/statusd/statusd/data"
)

// permission is something a person may do in the admin UI. Every handler
// names the one it needs; this file is the whole policy.
type permission string

const (
	permView     permission = "view"     // the dashboard and component pages
	permOverride permission = "override" // set and clear component overrides
	permAudit    permission = "audit"    // read the audit log
	permUsers    permission = "users"    // manage accounts
	permTokens   permission = "tokens"   // manage API tokens
	// permIncidents: draft, preview and publish incidents and maintenance,
	// post updates and notes, manage message templates.
	permIncidents permission = "incidents"
	// permSubscribers: list, search and export subscribers and see their
	// deliveries, as the subscribers:read scope allows on the API.
	permSubscribers permission = "subscribers"
	// permSubscribersWrite: import and remove subscribers, as
	// subscribers:write allows.
	permSubscribersWrite permission = "subscribers-write"
)

// rolePermissions says what each role may do. Comms leads run the page;
// viewers (support staff, say) only look, and not at subscribers' addresses;
// admins also manage people and tokens. It matches roleScopes below: a
// role may do in the UI what its tokens may do on the API.
var rolePermissions = map[data.Role][]permission{
	data.RoleAdmin:  {permView, permOverride, permAudit, permUsers, permTokens, permIncidents, permSubscribers, permSubscribersWrite},
	data.RoleComms:  {permView, permOverride, permAudit, permIncidents, permSubscribers, permSubscribersWrite},
	data.RoleViewer: {permView},
}

// can reports whether role may do p.
func can(role data.Role, p permission) bool {
	return slices.Contains(rolePermissions[role], p)
}

// roleScopes caps what a token can do by its owner's current role: a token
// keeps working after its owner is demoted, but only within the new role.
var roleScopes = map[data.Role][]data.Scope{
	data.RoleAdmin: data.Scopes,
	data.RoleComms: {data.ScopeIncidentsWrite, data.ScopeMaintenanceWrite, data.ScopeComponentsWrite,
		data.ScopeSubscribersRead, data.ScopeSubscribersWrite, data.ScopeSLOWrite, data.ScopeAuditRead},
	data.RoleViewer: nil,
}

// tokenAllows reports whether the token may use scope sc now: it holds the
// scope, is not revoked, and its owner is enabled and has a role that
// grants the scope.
func tokenAllows(t data.APIToken, sc data.Scope) bool {
	return t.Has(sc) && !t.Revoked() && !t.User.Disabled() && slices.Contains(roleScopes[t.User.Role], sc)
}
