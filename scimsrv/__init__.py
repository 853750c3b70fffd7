"""scimsrv: the SCIM 2.0 service over the licensing core."""
