from nimbus.core.db import env_main
from nimbus.network.models import Base

env_main(Base.metadata)
