/* authz.c - the role x operation table: which roles may perform each operation, and
 * the scope their data is limited to. This table is the only place that says who may
 * do what; cl_authz_check applies it, the handlers' SQL applies the scope.
 *
 * Marker scopes: CL_OP_PUBLIC is CL_SCOPE_GROUP for everybody (public replies carry no
 * scoped data); CL_OP_SESSION gives each role its natural scope, the one its data is
 * limited to everywhere else. Under CL_OP_CONTRACTOR_LIST a CR's CL_SCOPE_COMPANY still
 * means all contractors: they are group-wide master data a CR assigns trades from.
 * CL_OP_DEFECT_STEP is group-wide for department staff because a superior department
 * (whose leader approves) may sit at HQ: the defect's SQL narrows it to the member of the
 * department the step belongs to. CL_OP_KB_SEARCH is group-wide for every staff role:
 * the knowledge base is the whole group's (contractors never see it).
 * Pure data, no state; safe from any thread. */
#include "authz.h"

#include <stddef.h>

#include "domain.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Column shorthands; columns follow cl_role_t. */
#define N_ CL_SCOPE_NONE
#define G_ CL_SCOPE_GROUP
#define C_ CL_SCOPE_COMPANY
#define P_ CL_SCOPE_PROJECTS
#define K_ CL_SCOPE_CONTRACTOR

_Static_assert(CL_ROLE__COUNT == 11, "a new role needs a column in authz_table");

/* One row per operation; columns in cl_role_t order. */
/* clang-format off */
static const unsigned char authz_table[][CL_ROLE__COUNT] = {
    /*                             none admin analyst cr  clerk contr verif prop dept hotl warr */
    [CL_OP_PUBLIC] =              {G_,  G_,   G_,     G_, G_,   G_,   G_,   G_, G_, G_, G_},
    [CL_OP_SESSION] =             {N_,  G_,   G_,     C_, P_,   K_,   P_,   P_, C_, G_, C_},
    [CL_OP_COMPANY_CREATE] =      {N_,  G_,   N_,     N_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_COMPANY_LIST] =        {N_,  G_,   G_,     C_, N_,   N_,   N_,   N_, C_, G_, C_},
    [CL_OP_PROJECT_CREATE] =      {N_,  G_,   N_,     C_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_PROJECT_LIST] =        {N_,  G_,   G_,     C_, P_,   K_,   P_,   P_, C_, G_, C_},
    [CL_OP_BUILDING_CREATE] =     {N_,  G_,   N_,     C_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_BUILDING_LIST] =       {N_,  G_,   G_,     C_, P_,   N_,   P_,   P_, C_, G_, C_},
    [CL_OP_UNIT_CREATE] =         {N_,  G_,   N_,     C_, P_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_UNIT_LIST] =           {N_,  G_,   G_,     C_, P_,   N_,   P_,   P_, C_, G_, C_},
    [CL_OP_UNIT_IMPORT] =         {N_,  G_,   N_,     C_, P_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_CONTRACTOR_CREATE] =   {N_,  G_,   N_,     N_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_CONTRACTOR_LIST] =     {N_,  G_,   G_,     C_, P_,   K_,   P_,   P_, C_, G_, C_},
    [CL_OP_USER_CREATE] =         {N_,  G_,   N_,     N_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_USER_LIST] =           {N_,  G_,   G_,     C_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_TRADE_ASSIGN] =        {N_,  G_,   N_,     C_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_TRADE_LIST] =          {N_,  G_,   G_,     C_, P_,   K_,   P_,   P_, C_, G_, C_},
    [CL_OP_ROUND_CREATE] =        {N_,  G_,   N_,     C_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_ROUND_LIST] =          {N_,  G_,   G_,     C_, P_,   N_,   P_,   P_, C_, N_, N_},
    [CL_OP_ITEM_RECORD] =         {N_,  G_,   N_,     C_, P_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_HANDOVER_RECORD] =     {N_,  G_,   N_,     C_, P_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_TICKET_READ] =         {N_,  G_,   G_,     C_, P_,   K_,   P_,   P_, C_, G_, C_},
    [CL_OP_TICKET_TRANSITION] =   {N_,  G_,   N_,     C_, P_,   K_,   P_,   N_, N_, N_, N_},
    [CL_OP_TICKET_REPAIR] =       {N_,  G_,   N_,     C_, P_,   K_,   N_,   N_, N_, N_, N_},
    [CL_OP_TICKET_VERIFY] =       {N_,  G_,   N_,     C_, P_,   N_,   P_,   N_, N_, N_, N_},
    [CL_OP_TICKET_RETURN] =       {N_,  G_,   N_,     C_, P_,   K_,   N_,   N_, N_, N_, N_},
    [CL_OP_TICKET_DECIDE] =       {N_,  G_,   N_,     C_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_DEADLINE_SET] =        {N_,  G_,   N_,     C_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_DEADLINE_LIST] =       {N_,  G_,   G_,     C_, P_,   N_,   P_,   P_, C_, N_, C_},
    [CL_OP_REPORT] =              {N_,  G_,   G_,     C_, P_,   N_,   P_,   P_, C_, N_, N_},
    [CL_OP_DEPT_MANAGE] =         {N_,  G_,   N_,     C_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_DEPT_LIST] =           {N_,  G_,   G_,     C_, N_,   N_,   N_,   N_, C_, N_, N_},
    [CL_OP_DEFECT_READ] =         {N_,  G_,   G_,     C_, P_,   N_,   P_,   P_, C_, G_, C_},
    [CL_OP_DEFECT_MANAGE] =       {N_,  G_,   N_,     C_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_DEFECT_STEP] =         {N_,  N_,   N_,     N_, N_,   N_,   N_,   N_, G_, N_, N_},
    [CL_OP_DEFECT_REPORT] =       {N_,  G_,   G_,     C_, N_,   N_,   N_,   N_, C_, N_, N_},
    [CL_OP_KB_SEARCH] =           {N_,  G_,   G_,     G_, G_,   N_,   G_,   G_, G_, G_, G_},
    [CL_OP_KB_CURATE] =           {N_,  G_,   N_,     N_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_CHECKPOINT_RECORD] =   {N_,  G_,   N_,     C_, P_,   N_,   P_,   N_, N_, N_, N_},
    [CL_OP_SYNC] =                {N_,  G_,   G_,     C_, P_,   K_,   P_,   P_, C_, N_, N_},
    [CL_OP_STATS] =               {N_,  G_,   G_,     C_, P_,   N_,   P_,   P_, N_, G_, C_},
    [CL_OP_CALENDAR_READ] =       {N_,  G_,   G_,     C_, P_,   N_,   P_,   P_, C_, G_, C_},
    [CL_OP_CALENDAR_MANAGE] =     {N_,  G_,   N_,     C_, N_,   N_,   N_,   N_, N_, N_, N_},
    [CL_OP_COMPLAINT_READ] =      {N_,  G_,   G_,     C_, N_,   N_,   N_,   P_, N_, G_, C_},
    [CL_OP_COMPLAINT_WRITE] =     {N_,  G_,   N_,     C_, N_,   N_,   N_,   P_, N_, G_, C_},
    [CL_OP_WATCH] =               {N_,  G_,   G_,     C_, P_,   K_,   P_,   P_, C_, G_, C_},
    [CL_OP_WARRANTY_READ] =       {N_,  G_,   G_,     C_, N_,   N_,   N_,   P_, N_, G_, C_},
    [CL_OP_WARRANTY_WRITE] =      {N_,  G_,   N_,     C_, N_,   N_,   N_,   P_, N_, G_, C_},
    [CL_OP_WARRANTY_OFFICE] =     {N_,  G_,   N_,     N_, N_,   N_,   N_,   N_, N_, N_, C_},
    [CL_OP_WARRANTY_APPROVE] =    {N_,  G_,   N_,     C_, N_,   N_,   N_,   N_, N_, N_, C_},
};
/* clang-format on */
_Static_assert(ARRAY_LEN(authz_table) == CL_OP__COUNT, "a new op needs a row in authz_table");

/* Who may see owners' names, phones and id numbers: analysts get statistics only. */
static const bool owner_data[CL_ROLE__COUNT] = {
    [CL_ROLE_HQ_ADMIN] = true, [CL_ROLE_CR] = true,      [CL_ROLE_CLERK] = true,
    [CL_ROLE_PROPERTY] = true, [CL_ROLE_HOTLINE] = true, [CL_ROLE_WARRANTY] = true,
};

/* The C enum mirrors the wire enum Role, whose stored names (users.role) and labels
 * live in the registry (common/domain.c). */
_Static_assert((int)CL_ROLE_HQ_ADMIN == (int)CLOSELOOP__ROLE__ROLE_HQ_ADMIN &&
                   (int)CL_ROLE_HQ_ANALYST == (int)CLOSELOOP__ROLE__ROLE_HQ_ANALYST &&
                   (int)CL_ROLE_CR == (int)CLOSELOOP__ROLE__ROLE_CR &&
                   (int)CL_ROLE_CLERK == (int)CLOSELOOP__ROLE__ROLE_CLERK &&
                   (int)CL_ROLE_CONTRACTOR == (int)CLOSELOOP__ROLE__ROLE_CONTRACTOR &&
                   (int)CL_ROLE_VERIFIER == (int)CLOSELOOP__ROLE__ROLE_VERIFIER &&
                   (int)CL_ROLE_PROPERTY == (int)CLOSELOOP__ROLE__ROLE_PROPERTY &&
                   (int)CL_ROLE_DEPT == (int)CLOSELOOP__ROLE__ROLE_DEPT &&
                   (int)CL_ROLE_HOTLINE == (int)CLOSELOOP__ROLE__ROLE_HOTLINE &&
                   (int)CL_ROLE_WARRANTY == (int)CLOSELOOP__ROLE__ROLE_WARRANTY,
               "cl_role_t equals Role");

static const char *const op_names[] = {
#define CL_OP_NAME(upper, lower) [CL_OP_##upper] = #lower,
    CL_OPS(CL_OP_NAME)
#undef CL_OP_NAME
};
_Static_assert(ARRAY_LEN(op_names) == CL_OP__COUNT, "a new op needs a name");

/* Unsigned compares, so a negative value cast to the enum is out of range too. */
static bool role_valid(cl_role_t role) {
    return (unsigned)role < (unsigned)CL_ROLE__COUNT;
}

static bool op_valid(cl_op_t op) {
    return (unsigned)op < (unsigned)CL_OP__COUNT;
}

cl_scope_t cl_authz_scope(cl_role_t role, cl_op_t op) {
    if (!role_valid(role) || !op_valid(op)) return CL_SCOPE_NONE;
    return (cl_scope_t)authz_table[op][role];
}

int cl_authz_check(bool logged_in, cl_role_t role, cl_op_t op) {
    if (op == CL_OP_PUBLIC) return CL_OK;
    if (!logged_in) return CL_EUNAUTH;
    if (role == CL_ROLE_NONE || !role_valid(role)) return CL_EFORBIDDEN;
    return cl_authz_scope(role, op) == CL_SCOPE_NONE ? CL_EFORBIDDEN : CL_OK;
}

bool cl_authz_sees_owner_data(cl_role_t role) {
    return role_valid(role) && owner_data[role];
}

const char *cl_role_name(cl_role_t role) {
    return cl_domain_name(CL_DOM_ROLE, (int)role);
}

const char *cl_role_label(cl_role_t role) {
    return cl_domain_label(CL_DOM_ROLE, (int)role);
}

cl_role_t cl_role_parse(const char *name) {
    return (cl_role_t)cl_domain_parse(CL_DOM_ROLE, name);
}

const char *cl_op_name(cl_op_t op) {
    return op_valid(op) ? op_names[op] : NULL;
}
