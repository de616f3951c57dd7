CREATE DATABASE latchkey_catalog;
CREATE DATABASE latchkey_ras;
CREATE DATABASE latchkey_deployer;
