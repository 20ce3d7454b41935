from fastapi import APIRouter

router = APIRouter(prefix="/v3")
