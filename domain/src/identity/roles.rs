use serde::Serialize;

/// A member's role: OWNER and ADMIN may do everything, MEMBER everything but manage members and
/// settings, VIEWER only read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[schema(example = "ADMIN")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
}

/// A permission a role grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = "messages:send")]
pub enum Permission {
    #[serde(rename = "members:read")]
    MembersRead,
    #[serde(rename = "members:write")]
    MembersWrite,
    #[serde(rename = "messages:read")]
    MessagesRead,
    #[serde(rename = "messages:send")]
    MessagesSend,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::MembersRead => "members:read",
            Permission::MembersWrite => "members:write",
            Permission::MessagesRead => "messages:read",
            Permission::MessagesSend => "messages:send",
        }
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Admin => "ADMIN",
            Role::Member => "MEMBER",
            Role::Viewer => "VIEWER",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "OWNER" => Ok(Role::Owner),
            "ADMIN" => Ok(Role::Admin),
            "MEMBER" => Ok(Role::Member),
            "VIEWER" => Ok(Role::Viewer),
            _ => Err("must be one of OWNER, ADMIN, MEMBER, VIEWER".into()),
        }
    }

    /// The permission table of the contract (API.md, "Credentials").
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Owner | Role::Admin => &[MembersRead, MembersWrite, MessagesRead, MessagesSend],
            Role::Member => &[MembersRead, MessagesRead, MessagesSend],
            Role::Viewer => &[MembersRead, MessagesRead],
        }
    }

    pub fn can(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permission_table_matches_the_contract() {
        use Permission::*;
        assert!(Role::Admin.can(MembersWrite));
        assert!(Role::Member.can(MessagesSend) && !Role::Member.can(MembersWrite));
        assert!(Role::Viewer.can(MessagesRead) && !Role::Viewer.can(MessagesSend));
        assert!(!Role::Viewer.can(MembersWrite));
    }
}
