package server

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/statusd/statusd/data"
)

// overrideRoutes adds the override form's routes. The form needs the
// store's status inputs; until then the component page shows the status
// and its recent changes only.
func (a *admin) overrideRoutes(g fiber.Router) {}

func (a *admin) why(c *fiber.Ctx, comp data.Component) (string, time.Time, error) {
	return a.whyFromHistory(c, comp)
}

func (a *admin) renderComponent(c *fiber.Ctx, code int, form overrideForm, _ string, verr error) error {
	id := c.Params("id")
	comp, names, err := a.findComponent(c, id)
	if err != nil {
		return err
	}
	cv, err := a.componentView(c, comp, names)
	if err != nil {
		return err
	}
	v := a.base(c, comp.Name)
	v.Component = &componentPageView{Component: cv, Form: form}
	v.Notice = noticeText(c.Query("done"))
	if verr != nil {
		return a.invalid(c, "component.html", v, verr, map[string]string{"status": "status", "reason": "reason", "": "status"})
	}
	return a.renderStatus(c, code, "component.html", v)
}

func (a *admin) overrideAPIRoutes() []apiRoute { return nil }
