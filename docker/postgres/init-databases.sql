-- Run once by the official postgres image on an empty volume (/docker-entrypoint-initdb.d).
-- Each service owns its database: the legacy shop, the extracted pricing and PIM services.
CREATE DATABASE legacy;
CREATE DATABASE pricing;
CREATE DATABASE pim;
