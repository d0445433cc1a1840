package directory

// Key methods: how each object is identified within its collection.

func (u *User) Key() string                           { return u.ID }
func (g *Group) Key() string                          { return g.ID }
func (m *GroupMembership) Key() string                { return m.GroupID }
func (r *RoleDefinition) Key() string                 { return r.ID }
func (r *RoleAssignment) Key() string                 { return r.ID }
func (sp *ServicePrincipal) Key() string              { return sp.ID }
func (a *Application) Key() string                    { return a.ID }
func (a *AppRoleAssignment) Key() string              { return a.ID }
func (o *Ownership) Key() string                      { return o.ObjectID }
func (p *ConditionalAccessPolicy) Key() string        { return p.ID }
func (l *NamedLocation) Key() string                  { return l.ID }
func (r *RegistrationDetail) Key() string             { return r.ID }
func (s *SignIn) Key() string                         { return s.ID }
func (a *ServicePrincipalSignInActivity) Key() string { return a.ID }
func (e *Environment) Key() string                    { return e.Name }
func (f *Flow) Key() string                           { return f.EnvironmentName() + "/" + f.Name }
func (s *FlowPermissionSet) Key() string              { return s.Environment + "/" + s.FlowName }
func (c *Connection) Key() string                     { return c.EnvironmentName() + "/" + c.Name }
