from nimbus.core.db import env_main
from nimbus.identity.models import Base

env_main(Base.metadata)
