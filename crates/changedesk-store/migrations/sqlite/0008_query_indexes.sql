-- Indexes of the API's post queries (`Store::query_posts`, `post_facets`) at
-- scale (100,000 posts, 1,000 tenants, a million tenant links).
--
-- A tenant's links with their posts: a count or the facets of what some
-- tenants see read these index entries alone, instead of checking every
-- post of the archive. It replaces post_tenants_tenant (its first two
-- columns), which the sync's per-tenant updates use the same way.
CREATE INDEX post_tenants_tenant_post ON post_tenants (tenant_id, visible, post_id);
DROP INDEX post_tenants_tenant;

-- A post's links with whether each tenant returns it now: "is it visible to
-- a tenant in scope" and a page's tenants in scope without reading the link
-- rows themselves.
CREATE INDEX post_tenants_post_visible ON post_tenants (post_id, visible, tenant_id);

-- The facets' columns of every post (`post_facets`): read from this index
-- alone instead of every row of posts, whose bodies fill a page each.
CREATE INDEX posts_facets ON posts (category, severity, is_major, id);
