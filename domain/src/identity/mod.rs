//! Organizations, users and their roles, sessions, members and API keys.

mod api_keys;
mod members;
mod passwords;
mod roles;
mod sessions;
mod users;

pub use api_keys::{
    ApiKey, ApiKeyPrincipal, CreatedApiKey, KeyCache, NewApiKey, authenticate_api_key,
    create_api_key, list_api_keys, revoke_api_key, watch_revocations,
};
pub use members::{
    MemberChange, NewMember, add_member, change_member_role, list_members, remove_member,
};
pub use passwords::{hash_password, verify_password};
pub use roles::{Permission, Role};
pub use sessions::{Session, SessionIssuer, SessionToken};
pub use users::{
    Login, Me, Organization, Signup, SignupOutcome, User, change_password, count_signup,
    create_user, ensure_platform_admin, login, me, signup,
};
