//! Who may do what: the role table of the design, shared by the server that
//! enforces it and the browser that disables what a user may not do.

text_enum! {
    /// A user's role. Ordered by what it may do.
    Role {
        Viewer => "viewer",
        Manager => "manager",
        Admin => "admin",
    }
}

text_enum! {
    /// What a call needs. Deny by default: anything not granted is refused.
    Permission {
        /// See runtimes, versions, status and node logs.
        View => "view",
        /// Register a version; start, stop, publish, unpublish.
        Operate => "operate",
        /// Read `/audit` and export it.
        ReadAudit => "read_audit",
        /// Create users, change roles, disable, revoke sessions, reset passwords.
        ManageUsers => "manage_users",
        /// Create runtimes, change their settings, delete empty ones.
        ManageRuntimes => "manage_runtimes",
    }
}

impl Role {
    pub fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::View => true,
            Permission::Operate | Permission::ReadAudit => {
                matches!(self, Role::Manager | Role::Admin)
            }
            Permission::ManageUsers | Permission::ManageRuntimes => self == Role::Admin,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Manager => "Manager",
            Role::Admin => "Admin",
        }
    }
}

impl Permission {
    /// Why a role without this permission is refused, in words for the user.
    pub fn refusal(self) -> &'static str {
        match self {
            Permission::View => "You need to sign in to see this.",
            Permission::Operate => {
                "Only managers and admins can register, start, stop, publish or unpublish versions."
            }
            Permission::ReadAudit => "Only managers and admins can read the audit log.",
            Permission::ManageUsers => "Only admins can manage users.",
            Permission::ManageRuntimes => {
                "Only admins can create runtimes or change their settings."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_table_of_the_design() {
        use Permission::*;
        let table = [
            (Role::Viewer, [true, false, false, false, false]),
            (Role::Manager, [true, true, true, false, false]),
            (Role::Admin, [true, true, true, true, true]),
        ];
        for (role, expected) in table {
            for (permission, allowed) in [View, Operate, ReadAudit, ManageUsers, ManageRuntimes]
                .into_iter()
                .zip(expected)
            {
                assert_eq!(role.allows(permission), allowed, "{role} {permission}");
            }
        }
    }

    #[test]
    fn roles_parse_from_their_text_only() {
        assert_eq!("manager".parse::<Role>(), Ok(Role::Manager));
        assert!("root".parse::<Role>().is_err());
        assert!("Admin".parse::<Role>().is_err());
    }
}
