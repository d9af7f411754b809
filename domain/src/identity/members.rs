use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    Role, User,
    passwords::{check_new_password, hash_bounded},
    users::{MAX_NAME_CHARS, USER_COLUMNS, UserRow, email_field, insert_user},
};
use crate::{Error, Errors, Page, Paged, Result};

pub struct NewMember {
    pub email: String,
    pub name: String,
    pub role: String,
    pub password: String,
}

pub struct MemberChange {
    pub role: String,
}

fn parse_role(raw: &str) -> Result<Role> {
    Role::parse(raw).map_err(|m| Error::validation("role", m))
}

/// Only an OWNER may create, change or remove an OWNER.
fn check_owner_rule(actor: &User, touches_owner: bool) -> Result<()> {
    if touches_owner && actor.role != Role::Owner {
        return Err(Error::Forbidden(
            "only an OWNER may grant, change or remove the OWNER role".into(),
        ));
    }
    Ok(())
}

pub async fn list_members(pool: &PgPool, organization_id: Uuid, page: Page) -> Result<Paged<User>> {
    let rows: Paged<UserRow> = crate::pagination::by_organization(
        pool,
        "users",
        USER_COLUMNS,
        "created_at DESC, id DESC",
        organization_id,
        page,
    )
    .await?;
    Ok(Paged {
        data: rows.data.into_iter().map(User::from).collect(),
        page: rows.page,
        page_size: rows.page_size,
        total: rows.total,
    })
}

pub async fn add_member(pool: &PgPool, actor: &User, input: NewMember) -> Result<User> {
    let mut errors = Errors::default();
    let email = errors.take(email_field("email", &input.email));
    let name = input.name.trim().to_owned();
    if name.is_empty() {
        errors.add("name", "is required");
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.add(
            "name",
            format!("must be at most {MAX_NAME_CHARS} characters"),
        );
    }
    let role = match Role::parse(&input.role) {
        Ok(r) => Some(r),
        Err(m) => {
            errors.add("role", m);
            None
        }
    };
    errors.take(check_new_password("password", &input.password));
    errors.finish()?;
    let role = role.expect("validated");
    check_owner_rule(actor, role == Role::Owner)?;
    let hash = hash_bounded(&input.password).await?;
    let mut conn = pool.acquire().await?;
    insert_user(
        &mut conn,
        actor.organization_id,
        &email.expect("validated"),
        &name,
        &hash,
        role,
        false,
    )
    .await
}

/// Locks the organization's members so that two concurrent changes cannot both remove the last owner.
async fn lock_member(
    conn: &mut PgConnection,
    organization_id: Uuid,
    user_id: Uuid,
) -> Result<(User, i64)> {
    let owners: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM users WHERE organization_id = $1 AND role = 'OWNER' ORDER BY id FOR UPDATE",
    )
    .bind(organization_id)
    .fetch_all(&mut *conn)
    .await?;
    let target = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND organization_id = $2 FOR UPDATE"
    )))
    .bind(user_id)
    .bind(organization_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?;
    Ok((target.into(), owners.len() as i64))
}

pub async fn change_member_role(
    pool: &PgPool,
    actor: &User,
    user_id: Uuid,
    change: MemberChange,
) -> Result<User> {
    let role = parse_role(&change.role)?;
    let mut tx = pool.begin().await?;
    let (target, owners) = lock_member(&mut tx, actor.organization_id, user_id).await?;
    check_owner_rule(actor, role == Role::Owner || target.role == Role::Owner)?;
    if target.role == Role::Owner && role != Role::Owner && owners <= 1 {
        return Err(Error::conflict("the last OWNER cannot be demoted"));
    }
    let row = sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!(
        "UPDATE users SET role = $2 WHERE id = $1 AND organization_id = $3 RETURNING {USER_COLUMNS}"
    )))
    .bind(user_id)
    .bind(role.as_str())
    .bind(actor.organization_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.into())
}

pub async fn remove_member(pool: &PgPool, actor: &User, user_id: Uuid) -> Result<()> {
    let mut tx = pool.begin().await?;
    let (target, owners) = lock_member(&mut tx, actor.organization_id, user_id).await?;
    check_owner_rule(actor, target.role == Role::Owner)?;
    if target.role == Role::Owner && owners <= 1 {
        return Err(Error::conflict("the last OWNER cannot be removed"));
    }
    sqlx::query("DELETE FROM users WHERE id = $1 AND organization_id = $2")
        .bind(user_id)
        .bind(actor.organization_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
