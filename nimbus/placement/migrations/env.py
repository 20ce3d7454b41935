from nimbus.core.db import env_main
from nimbus.placement.models import Base

env_main(Base.metadata)
